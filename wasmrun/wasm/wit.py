"""Component-model types as plain values, and their WIT text.

:mod:`wasmrun.wasm.component` turns wasmtime's component types into these (so that nothing else
needs wasmtime to reason about a component's world); :mod:`wasmrun.wasm.wave` parses and prints
values of them; :func:`world_text` prints a component's world for ``inspect``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: The kinds of :class:`WitType` that carry nothing else.
PRIMITIVES = ("bool", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64", "char", "string")
#: Kinds that WIT declares under a name of their own.
NAMED_KINDS = ("record", "variant", "enum", "flags", "resource")

#: WIT's keywords: a name spelt like one is written with a leading ``%``.
KEYWORDS = frozenset((
    "as", "async", "bool", "borrow", "char", "constructor", "enum", "export", "f32", "f64", "flags", "from", "func",
    "future", "import", "include", "interface", "list", "option", "own", "package", "record", "resource", "result",
    "s8", "s16", "s32", "s64", "static", "stream", "string", "tuple", "type", "u8", "u16", "u32", "u64", "use",
    "variant", "with", "world", "_", "true", "false", "some", "none", "ok", "err", "inf", "nan"))

def label(name: str) -> str:
    """``name`` as WIT writes it: keywords escaped with ``%``."""
    return f"%{name}" if name in KEYWORDS else name


@dataclass(frozen=True)
class WitType:
    """One component-model value type.

    ``items``: the element of a list, the payload of an option, a tuple's members. ``cases``: a
    record's fields, a variant's cases (payload or None), an enum's or flags' names (None), a
    result's ``ok`` and ``err`` (payload or None). ``name``: the name a record, variant, enum,
    flags or resource is declared under (None for an anonymous one); for own/borrow, the resource.
    """

    kind: str
    items: tuple[WitType, ...] = ()
    cases: tuple[tuple[str, WitType | None], ...] = ()
    name: str | None = field(default=None, compare=False)

    @property
    def element(self) -> WitType:
        return self.items[0]

    def case_names(self) -> list[str]:
        return [name for name, _ in self.cases]

    def payload(self, case: str) -> WitType | None:
        return dict(self.cases)[case]

    def __str__(self) -> str:
        return type_ref(self)


def prim(kind: str) -> WitType:
    return WitType(kind)


def list_of(element: WitType) -> WitType:
    return WitType("list", (element,))


def option_of(inner: WitType) -> WitType:
    return WitType("option", (inner,))


def result_of(ok: WitType | None, err: WitType | None) -> WitType:
    return WitType("result", cases=(("ok", ok), ("err", err)))


def tuple_of(*items: WitType) -> WitType:
    return WitType("tuple", tuple(items))


def record(name: str | None, fields: Iterable[tuple[str, WitType]]) -> WitType:
    return WitType("record", cases=tuple(fields), name=name)


def variant(name: str | None, cases: Iterable[tuple[str, WitType | None]]) -> WitType:
    return WitType("variant", cases=tuple(cases), name=name)


def enum(name: str | None, names: Iterable[str]) -> WitType:
    return WitType("enum", cases=tuple((n, None) for n in names), name=name)


def flags(name: str | None, names: Iterable[str]) -> WitType:
    return WitType("flags", cases=tuple((n, None) for n in names), name=name)


def type_ref(t: WitType) -> str:
    """How a type is written where it is used: a named type by its name, the rest spelt out."""
    if t.kind in PRIMITIVES:
        return t.kind
    if t.kind in ("own", "resource"):
        return label(t.name or "resource")
    if t.kind == "borrow":
        return f"borrow<{label(t.name or 'resource')}>"
    if t.kind in NAMED_KINDS and t.name is not None:
        return label(t.name)
    if t.kind == "list":
        return f"list<{type_ref(t.element)}>"
    if t.kind == "option":
        return f"option<{type_ref(t.element)}>"
    if t.kind == "tuple":
        return f"tuple<{', '.join(type_ref(i) for i in t.items)}>"
    if t.kind == "result":
        ok, err = t.payload("ok"), t.payload("err")
        if ok is None and err is None:
            return "result"
        if err is None:
            return f"result<{type_ref(ok)}>"  # type: ignore[arg-type]
        return f"result<{'_' if ok is None else type_ref(ok)}, {type_ref(err)}>"
    return type_definition(t)  # an anonymous record, variant, enum or flags: spelt out inline


def type_tree(t: WitType) -> dict[str, Any]:
    """``t`` as JSON for the page's forms (wasmrun/server/static/wave.js): ``kind``, and where
    they apply ``items`` (type trees), ``cases`` (``name`` and ``type``, a tree or None) and ``name``."""
    tree: dict[str, Any] = {"kind": t.kind}
    if t.items:
        tree["items"] = [type_tree(item) for item in t.items]
    if t.cases:
        tree["cases"] = [{"name": name, "type": None if case is None else type_tree(case)} for name, case in t.cases]
    if t.name is not None:
        tree["name"] = t.name
    return tree


def type_definition(t: WitType, name: str | None = None) -> str:
    """The declaration of a named type: ``record item { name: string, qty: u32 }``."""
    name = label(name or t.name or "anonymous")
    if t.kind == "record":
        return f"record {name} {{ {', '.join(f'{label(f)}: {type_ref(ft)}' for f, ft in t.cases if ft)} }}"
    if t.kind == "variant":
        cases = ", ".join(label(c) if p is None else f"{label(c)}({type_ref(p)})" for c, p in t.cases)
        return f"variant {name} {{ {cases} }}"
    if t.kind in ("enum", "flags"):
        return f"{t.kind} {name} {{ {', '.join(label(c) for c, _ in t.cases)} }}"
    if t.kind == "resource":
        return f"resource {name};"
    return f"type {name} = {type_ref(t)};"


@dataclass(frozen=True)
class Function:
    """A component function: named parameters and at most one result."""

    name: str
    params: tuple[tuple[str, WitType], ...]
    result: WitType | None = None

    def signature(self) -> str:
        params = ", ".join(f"{label(n)}: {type_ref(t)}" for n, t in self.params)
        return f"func({params})" + ("" if self.result is None else f" -> {type_ref(self.result)}")


@dataclass
class Interface:
    """An imported or exported instance: its types (in order) and its functions."""

    name: str  # e.g. ``wasi:cli/stdout@0.2.0``, or a plain name such as ``geometry``
    types: list[tuple[str, WitType]] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    uses: dict[str, str] = field(default_factory=dict)  # type name -> the interface that defines it


@dataclass
class World:
    """What a component imports and exports. Top-level types and functions sit beside interfaces."""

    imports: list[Interface | Function] = field(default_factory=list)
    exports: list[Interface | Function] = field(default_factory=list)
    types: list[tuple[str, WitType]] = field(default_factory=list)

    def functions(self) -> list[tuple[str, Function]]:
        """Every exported function with the name ``--invoke`` can call it by: ``fn`` at the top
        level, ``INTERFACE#fn`` inside an exported interface."""
        out: list[tuple[str, Function]] = []
        for item in self.exports:
            if isinstance(item, Function):
                out.append((item.name, item))
            else:
                out.extend((f"{item.name}#{f.name}", f) for f in item.functions)
        return out


def split_interface_name(name: str) -> tuple[str | None, str, str | None]:
    """``wasi:cli/stdout@0.2.0`` -> (``wasi:cli``, ``stdout``, ``0.2.0``); a plain name has no package."""
    match = re.fullmatch(r"(?:([^:/@]+:[^/@]+)/)?([^@]+)(?:@(.+))?", name)
    if match is None:
        return None, name, None
    return match.group(1), match.group(2), match.group(3)


def _resource_parts(name: str) -> tuple[str, str, str] | None:
    """``[method]r.f`` -> (method, r, f); ``[constructor]r`` -> (constructor, r, ""); else None."""
    match = re.fullmatch(r"\[(method|static|constructor)\]([^.]+)(?:\.(.+))?", name)
    if match is None:
        return None
    return match.group(1), match.group(2), match.group(3) or ""


def _member_lines(types: list[tuple[str, WitType]], functions: list[Function], uses: dict[str, str],
                  pad: str) -> list[str]:
    lines: list[str] = []
    by_origin: dict[str, list[str]] = {}
    for name, origin in uses.items():
        by_origin.setdefault(origin, []).append(label(name))
    for origin, names in by_origin.items():
        lines.append(f"{pad}use {origin}.{{{', '.join(names)}}};")
    methods: dict[str, list[str]] = {}
    plain: list[Function] = []
    for func in functions:
        parts = _resource_parts(func.name)
        if parts is None:
            plain.append(func)
            continue
        kind, resource, method = parts
        if kind == "constructor":
            params = ", ".join(f"{label(n)}: {type_ref(t)}" for n, t in func.params)
            methods.setdefault(resource, []).append(f"constructor({params});")
        elif kind == "method":
            rest = Function(method, func.params[1:], func.result)
            methods.setdefault(resource, []).append(f"{label(method)}: {rest.signature()};")
        else:
            methods.setdefault(resource, []).append(f"{label(method)}: static {func.signature()};")
    for name, t in types:
        if name in uses:
            continue
        if t.kind == "resource":
            members = methods.pop(name, [])
            if not members:
                lines.append(f"{pad}resource {label(name)};")
            else:
                lines.append(f"{pad}resource {label(name)} {{")
                lines.extend(f"{pad}  {m}" for m in members)
                lines.append(f"{pad}}}")
        elif t.kind in NAMED_KINDS and t.name == name:
            lines.append(f"{pad}{type_definition(t, name)}")
        else:
            lines.append(f"{pad}type {label(name)} = {type_ref(t)};")
    for resource, members in methods.items():  # methods of a resource declared elsewhere
        lines.append(f"{pad}// methods of {resource}: " + " ".join(members))
    lines.extend(f"{pad}{label(f.name)}: {f.signature()};" for f in plain)
    return lines


def world_text(world: World, *, name: str = "root") -> str:
    """The world in WIT: ``package root:component;``, the world with its top-level types and
    functions and the interfaces it imports and exports by name, then each interface's
    definition inside a ``package NS:PKG@VERSION { ... }`` block (as ``wasm-tools component wit``
    prints dependencies), plain-named interfaces inside the world itself."""
    lines = ["package root:component;", "", f"world {name} {{"]
    body = _member_lines(world.types, [], {}, "  ")
    for direction, items in (("import", world.imports), ("export", world.exports)):
        for item in items:
            if isinstance(item, Function):
                body.append(f"  {direction} {label(item.name)}: {item.signature()};")
                continue
            package, short, version = split_interface_name(item.name)
            if package is None:
                body.append(f"  {direction} {label(short)}: interface {{")
                body.extend(_member_lines(item.types, item.functions, item.uses, "    "))
                body.append("  }")
            else:
                body.append(f"  {direction} {item.name};")
    lines.extend(body)
    lines.append("}")
    packages: dict[str, list[Interface]] = {}
    for item in [*world.imports, *world.exports]:
        if isinstance(item, Interface):
            package, short, version = split_interface_name(item.name)
            if package is not None:
                packages.setdefault(package + (f"@{version}" if version else ""), []).append(item)
    for package_name, interfaces in packages.items():
        lines.append("")
        lines.append(f"package {package_name} {{")
        for index, interface in enumerate(interfaces):
            if index:
                lines.append("")
            lines.append(f"  interface {label(split_interface_name(interface.name)[1])} {{")
            lines.extend(_member_lines(interface.types, interface.functions, interface.uses, "    "))
            lines.append("  }")
        lines.append("}")
    return "\n".join(lines) + "\n"
