"""Components through wasmtime's component types: their world, the core modules inside, calls.

wasmtime-py knows a component's imports and exports with full types, but its types carry no
names (a record is a list of fields); a named type is recognised by comparing it with the types
an instance or the component exports under a name. :func:`world_of` gives the plain
:class:`~wasmrun.wasm.wit.World` that ``inspect`` prints and ``exec --invoke`` calls into;
:func:`to_wasmtime` and :func:`from_wasmtime` turn WAVE values (:mod:`wasmrun.wasm.wave`) into
the Python values wasmtime-py takes and back. wasmtime is imported only here, and only when a
function needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wasmrun.errors import UsageError
from wasmrun.wasm import wit
from wasmrun.wasm.reader import WasmModule
from wasmrun.wasm.wave import Case, print_value
from wasmrun.wasm.wit import Function, Interface, WitType, World

_PRIMITIVE_CLASSES = {"Bool": "bool", "S8": "s8", "S16": "s16", "S32": "s32", "S64": "s64", "U8": "u8",
                      "U16": "u16", "U32": "u32", "U64": "u64", "F32": "f32", "F64": "f64", "Char": "char",
                      "String": "string"}


@dataclass
class _Scope:
    """Named types seen so far: (interface or None for the world, name, wasmtime type)."""

    named: list[tuple[str | None, str, Any]] = field(default_factory=list)
    #: the component's own named types as its binary declares them (wasmtime does not list them)
    declared: list[tuple[str, WitType]] = field(default_factory=list)

    def declared_name(self, t: WitType) -> str | None:
        """The name of the declared type ``t`` is (same shape and kind), if any."""
        return next((name for name, known in self.declared if known == t), None)

    def name_of(self, vt: Any, here: str | None, uses: dict[str, str] | None) -> str | None:
        """The name ``vt`` has where it is used: first among the types of ``here``, then elsewhere
        (recorded in ``uses`` as a type the interface takes from another)."""
        for owner, name, known in self.named:
            if owner == here and _same(known, vt):
                return name
        for owner, name, known in self.named:
            if owner != here and _same(known, vt):
                if uses is not None and owner is not None:
                    uses.setdefault(name, owner)
                return name
        return None


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - a type wasmtime cannot compare is not the same
        return False


def wit_type(vt: Any, scope: _Scope, here: str | None = None, uses: dict[str, str] | None = None,
             *, declaring: bool = False) -> WitType:
    """wasmtime's ``vt`` as a :class:`WitType`, named types named from ``scope``."""
    from wasmtime import component as c

    kind = _PRIMITIVE_CLASSES.get(type(vt).__name__)
    if kind is not None:
        return WitType(kind)

    def inner(t: Any) -> WitType:
        return wit_type(t, scope, here, uses)

    name = None if declaring else scope.name_of(vt, here, uses)
    if isinstance(vt, c.ListType):
        return wit.list_of(inner(vt.element))
    if isinstance(vt, c.OptionType):
        return wit.option_of(inner(vt.payload))
    if isinstance(vt, c.ResultType):
        return wit.result_of(None if vt.ok is None else inner(vt.ok), None if vt.err is None else inner(vt.err))
    if isinstance(vt, c.TupleType):
        return wit.tuple_of(*(inner(t) for t in vt.elements))
    if isinstance(vt, (c.RecordType, c.VariantType, c.EnumType, c.FlagsType)):
        if isinstance(vt, c.RecordType):
            t = wit.record(name, ((n, inner(t)) for n, t in vt.fields))
        elif isinstance(vt, c.VariantType):
            t = wit.variant(name, ((n, None if t is None else inner(t)) for n, t in vt.cases))
        else:
            t = (wit.enum if isinstance(vt, c.EnumType) else wit.flags)(name, vt.names)
        if name is None and not declaring:
            name = scope.declared_name(t)
            if name is not None:
                return WitType(t.kind, t.items, t.cases, name=name)
        return t
    if isinstance(vt, (c.OwnType, c.BorrowType)):
        resource = scope.name_of(vt.ty, here, uses) or "resource"
        return WitType("own" if isinstance(vt, c.OwnType) else "borrow", name=resource)
    if isinstance(vt, c.ResourceType):
        return WitType("resource", name=scope.name_of(vt, here, uses))
    return WitType(type(vt).__name__.removesuffix("Type").lower())  # future, stream, error-context


def _function(name: str, ft: Any, scope: _Scope, here: str | None, uses: dict[str, str] | None) -> Function:
    params = tuple((n, wit_type(t, scope, here, uses)) for n, t in ft.params)
    result = ft.result
    return Function(name, params, None if result is None else wit_type(result, scope, here, uses))


def _is_type(item: Any) -> bool:
    from wasmtime import component as c

    return isinstance(item, (c.ValType, c.ResourceType))


def world_of(component_type: Any, engine: Any, data: bytes | None = None) -> World:
    """The world of a compiled component's type (``Component(...).type``); ``data``, the
    component's bytes, names the types the world defines itself (wasmtime leaves them unnamed)."""
    from wasmtime import component as c

    from wasmrun.wasm.declared_types import declared_types

    scope = _Scope(declared=declared_types(data) if data is not None else [])
    sides = (("import", component_type.imports(engine)), ("export", component_type.exports(engine)))
    items: list[tuple[str, str, Any]] = []
    for direction, externs in sides:
        for name, extern in externs.items():
            item = extern.ty
            if isinstance(item, c.ComponentInstanceType):
                members = {n: e.ty for n, e in item.exports(engine).items()}
                for member, ty in members.items():
                    if _is_type(ty) and scope.name_of(ty, name, None) is None:
                        scope.named.append((name, member, ty))
                items.append((direction, name, members))
            else:
                if _is_type(item):
                    scope.named.append((None, name, item))
                items.append((direction, name, item))
    world = World()
    given = {name for _, name, _ in items}
    world.types.extend((name, t) for name, t in scope.declared if name not in given)
    for direction, name, item in items:
        target = world.imports if direction == "import" else world.exports
        if isinstance(item, dict):
            interface = Interface(name)
            for member, ty in item.items():
                if isinstance(ty, c.FuncType):
                    interface.functions.append(_function(member, ty, scope, name, interface.uses))
                elif _is_type(ty):
                    owner = next((o for o, n, t in scope.named if _same(t, ty)), name)
                    if owner is not None and owner != name:
                        interface.uses[member] = owner
                    interface.types.append((member, _declared(member, ty, scope, name, interface.uses)))
            target.append(interface)
        elif isinstance(item, c.FuncType):
            target.append(_function(name, item, scope, None, None))
        elif _is_type(item):
            world.types.append((name, _declared(name, item, scope, None, None)))
    return world


def _declared(name: str, vt: Any, scope: _Scope, here: str | None, uses: dict[str, str] | None) -> WitType:
    t = wit_type(vt, scope, here, uses, declaring=True)
    if t.kind in wit.NAMED_KINDS:
        return WitType(t.kind, t.items, t.cases, name=name)
    return t


# ---------------------------------------------------------------------------------------------
# Finding a function by the name --invoke gives


@dataclass(frozen=True)
class Target:
    """An exported function: the export names leading to it (interface, then function)."""

    path: tuple[str, ...]
    function: Function

    @property
    def display(self) -> str:
        return "#".join(self.path)


def _interface_matches(given: str, full: str) -> bool:
    _package, short, _version = wit.split_interface_name(full)
    without_version = full.split("@", 1)[0]
    return given in (full, short, without_version)


def find_function(world: World, name: str) -> Target:
    """The exported function ``--invoke`` names: ``fn`` (the world's own function of that name, else
    one inside an exported interface, as wasmtime's CLI finds it; refused when two interfaces
    both have one), or ``INTERFACE#fn`` with the interface's full
    name (``example:shapes/geometry@0.1.0``), without its version, or its short name (``geometry``)."""
    targets: list[Target] = []
    for item in world.exports:
        if isinstance(item, Function):
            targets.append(Target((item.name,), item))
        else:
            targets.extend(Target((item.name, f.name), f) for f in item.functions)
    interface, sep, function = name.rpartition("#")
    if sep:
        found = [t for t in targets if len(t.path) == 2 and t.path[1] == function
                 and _interface_matches(interface, t.path[0])]
    else:
        found = [t for t in targets if t.path == (name,)]  # the world's own function first
        found = found or [t for t in targets if t.path[-1] == name]
    if len(found) == 1:
        return found[0]
    names = [t.display for t in targets]
    if not found:
        available = ", ".join(names[:12]) + (f" ... and {len(names) - 12} more" if len(names) > 12 else "")
        raise UsageError(f"no exported function '{name}' (exported functions: {available or 'none'})")
    raise UsageError(f"more than one export is named '{name}': {', '.join(t.display for t in found)}; "
                     "name one as INTERFACE#FUNCTION")


def invocation(target: Target, file: str) -> str:
    """The ``exec --invoke`` line that calls ``target`` with example arguments."""
    args = ", ".join(_example(t, i) for i, (_, t) in enumerate(target.function.params))
    name = target.path[-1]
    if len(target.path) == 2:
        name = f"{wit.split_interface_name(target.path[0])[1]}#{name}"
    return f"wasmrun exec --invoke '{name}({args})' {file}"


def _example(t: WitType, depth: int = 0) -> str:
    return print_value(_example_value(t, depth), t)


def _example_value(t: WitType, depth: int = 0) -> Any:
    kind = t.kind
    if kind == "bool":
        return True
    if kind in ("s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64"):
        return 1 + depth  # add(1, 2): each parameter its own number
    if kind in ("f32", "f64"):
        return 1.5
    if kind == "char":
        return "x"
    if kind == "string":
        return "text"
    if kind == "list":
        return [_example_value(t.element, depth)]
    if kind == "option":
        return Case("some", _example_value(t.element, depth))
    if kind == "tuple":
        return tuple(_example_value(i, depth + n) for n, i in enumerate(t.items))
    if kind == "record":
        return {n: _example_value(ft, depth) for n, ft in t.cases if ft}
    if kind == "flags":
        return frozenset(t.case_names()[:1])
    if kind in ("enum", "variant", "result"):
        name, payload = t.cases[0]
        return Case(name, None if payload is None else _example_value(payload, depth))
    return None


# ---------------------------------------------------------------------------------------------
# Values: WAVE's Python values <-> wasmtime-py's


def _classes(vt: Any) -> set[type]:
    out: set[type] = set()
    vt.add_classes(out)
    return out


def _tagged(vt: Any) -> bool:
    """Whether wasmtime-py passes this variant-like type's cases as ``Variant(tag, payload)`` (when
    two cases' Python classes overlap) or as bare payloads (``None`` for a case without one)."""
    return bool(vt._tagged())


def to_wasmtime(value: Any, t: WitType, vt: Any) -> Any:
    """A WAVE value of ``t`` as wasmtime-py's value of its type ``vt``."""
    from wasmtime import component as c

    kind = t.kind
    if kind in wit.PRIMITIVES:
        return value
    if kind == "list":
        items = [to_wasmtime(v, t.element, vt.element) for v in value]
        return bytes(items) if t.element.kind == "u8" else items
    if kind == "tuple":
        return tuple(to_wasmtime(v, it, ivt) for v, it, ivt in zip(value, t.items, vt.elements, strict=True))
    if kind == "record":
        out = c.Record()
        for (name, ft), (_, fvt) in zip(t.cases, vt.fields, strict=True):
            setattr(out, name, to_wasmtime(value[name], ft, fvt))  # type: ignore[arg-type]
        return out
    if kind == "flags":
        return set(value)
    if kind == "enum":
        return value.name
    if kind in ("variant", "option", "result"):
        cases = vt._cases()
        payload_type = dict(_wit_cases(t))[value.name]
        payload_vt = dict(cases)[value.name]
        payload = None if payload_type is None else to_wasmtime(value.payload, payload_type, payload_vt)
        if _tagged(vt):
            return c.Variant(value.name, payload)
        # untagged: wasmtime-py picks the first case whose Python classes hold the payload
        for name, case_vt in cases:
            fits = payload is None if case_vt is None else isinstance(payload, tuple(_classes(case_vt)))
            if fits:
                if name != value.name:
                    raise UsageError(f"wasmrun cannot pass case '{value.name}' of {t} through wasmtime-py "
                                     f"(it would read as case '{name}')")
                break
        return payload
    raise UsageError(f"values of type {t} cannot be passed from the command line")


def _wit_cases(t: WitType) -> list[tuple[str, WitType | None]]:
    if t.kind == "option":
        return [("none", None), ("some", t.element)]
    return list(t.cases)


def from_wasmtime(value: Any, t: WitType, vt: Any) -> Any:
    """wasmtime-py's value of ``vt`` as a WAVE value of ``t``."""
    kind = t.kind
    if kind in wit.PRIMITIVES:
        return value
    if kind == "list":
        return [from_wasmtime(v, t.element, vt.element) for v in value]
    if kind == "tuple":
        return tuple(from_wasmtime(v, it, ivt) for v, it, ivt in zip(value, t.items, vt.elements, strict=True))
    if kind == "record":
        return {name: from_wasmtime(getattr(value, name), ft, fvt)  # type: ignore[arg-type]
                for (name, ft), (_, fvt) in zip(t.cases, vt.fields, strict=True)}
    if kind == "flags":
        return frozenset(value)
    if kind == "enum":
        return Case(value)
    if kind in ("variant", "option", "result"):
        cases = vt._cases()
        wit_cases = dict(_wit_cases(t))
        if _tagged(vt):
            name, payload = value.tag, value.payload
        else:
            name, payload = _untagged_case(value, cases)
        payload_type = wit_cases[name]
        payload_vt = dict(cases)[name]
        return Case(name, None if payload_type is None else from_wasmtime(payload, payload_type, payload_vt))
    if kind in ("own", "borrow"):
        return value
    raise UsageError(f"results of type {t} cannot be shown")


def _untagged_case(value: Any, cases: list[tuple[str, Any]]) -> tuple[str, Any]:
    if value is None:
        for name, case_vt in cases:
            if case_vt is None:
                return name, None
    exact = [n for n, cvt in cases if cvt is not None and type(value) in _classes(cvt)]
    loose = [n for n, cvt in cases if cvt is not None and isinstance(value, tuple(_classes(cvt)))]
    chosen = (exact or loose or [cases[0][0]])[0]
    return chosen, value


# ---------------------------------------------------------------------------------------------
# What is inside


#: Exports of the WASI preview 1 adapter (``wasi_snapshot_preview1.{command,reactor}.wasm``).
_ADAPTER_EXPORTS = frozenset({"fd_write", "proc_exit", "environ_get", "args_get"})


def core_modules(module: WasmModule) -> list[dict[str, Any]]:
    """The core modules a component embeds at its top level: offset, size, imports and exports
    counts, and ``adapter`` when the module is the WASI preview 1 adapter (the shim that runs a
    preview 1 module on WASI 0.2): ``wasi_snapshot_preview1.command`` or ``.reactor``."""
    out: list[dict[str, Any]] = []
    for section in module.sections:
        if section.id != 1:
            continue
        data = module.data[section.payload_offset:section.payload_offset + section.size]
        entry: dict[str, Any] = {"index": len(out), "offset": section.payload_offset, "size": section.size,
                                 "imports": None, "exports": None, "adapter": None}
        try:
            inner = WasmModule(data)
            imports, exports = inner.imports, inner.exports
        except Exception:  # noqa: BLE001 - the validator reports a malformed module; this is a description
            out.append(entry)
            continue
        entry["imports"], entry["exports"] = len(imports), len(exports)
        export_names = {e.name for e in exports}
        wasi_p2 = any(i.module.startswith("wasi:") for i in imports)
        if wasi_p2 and len(_ADAPTER_EXPORTS & export_names) >= 2:
            command = any(name.startswith("wasi:cli/run@") for name in export_names)
            entry["adapter"] = "wasi_snapshot_preview1." + ("command" if command else "reactor")
        out.append(entry)
    return out
