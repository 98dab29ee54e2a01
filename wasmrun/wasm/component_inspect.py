"""``inspect`` of a component: its world in WIT, the core modules inside, findings, how to run it.

:mod:`wasmrun.wasm.inspect` hands a component here (it alone needs wasmtime, to read the
component's types); the keys added to the report are documented in docs/reference/inspect-json.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wasmrun.errors import WasmrunError
from wasmrun.wasm.component import Target, core_modules, invocation, world_of
from wasmrun.wasm.reader import WasmModule
from wasmrun.wasm.wit import Function, Interface, World, type_definition, type_ref, world_text


def _function_json(function: Function) -> dict[str, Any]:
    return {"name": function.name,
            "params": [{"name": n, "type": type_ref(t)} for n, t in function.params],
            "result": None if function.result is None else type_ref(function.result),
            "signature": function.signature()}


def _types_json(types: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": name, "kind": t.kind, "definition": type_definition(t, name)} for name, t in types]


def _items_json(items: list[Interface | Function]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Function):
            out.append({"kind": "func", **_function_json(item)})
        else:
            out.append({"kind": "interface", "name": item.name, "types": _types_json(item.types),
                        "uses": dict(item.uses), "functions": [_function_json(f) for f in item.functions]})
    return out


def world_json(world: World) -> dict[str, Any]:
    """The world as JSON: ``imports`` and ``exports`` (interfaces and functions) and top-level ``types``."""
    return {"imports": _items_json(world.imports), "exports": _items_json(world.exports),
            "types": _types_json(world.types)}


def describe(module: WasmModule, file: str, report: dict[str, Any]) -> None:
    """Add the component's world, core modules, findings and conclusion to ``report``. The
    component is compiled as ``exec`` compiles it, through the compiled-module cache, so that a
    later ``exec`` (or ``inspect``) of it starts at once."""
    from wasmrun.wasm.compile_cache import default_cache_dir
    from wasmrun.wasm.runner import compiled_component

    component_report = report["component"]
    modules = core_modules(module)
    component_report["modules"] = modules
    component_report["world"] = None
    component_report["wit"] = None
    findings = report["findings"]
    for entry in modules:
        if entry["adapter"]:
            findings.append({"level": "info", "code": "adapter",
                             "message": f"core module {entry['index']} is the WASI preview 1 adapter "
                                        f"({entry['adapter']}): a preview 1 module wrapped as a component"})
    try:
        engine, component = compiled_component(module.path or Path(file), module.data, default_cache_dir())
    except WasmrunError:
        return  # invalid: the validator's finding says why
    world = world_of(component.type, engine, module.data)
    component_report["world"] = world_json(world)
    component_report["wit"] = world_text(world)
    foreign = [i.name for i in world.imports if not i.name.startswith("wasi:")]
    if foreign:
        findings.append({"level": "warning", "code": "foreign-imports",
                         "message": f"imports {', '.join(foreign)}, which only WASI 0.2 hosts that provide them "
                                    "can satisfy (`wasmrun exec` provides WASI 0.2 only)"})
    runs = [e.name for e in world.exports if isinstance(e, Interface) and e.name.startswith("wasi:cli/run@")]
    targets = [Target((f.name,), f) for f in world.exports if isinstance(f, Function)]
    targets += [Target((i.name, f.name), f) for i in world.exports if isinstance(i, Interface)
                and not i.name.startswith("wasi:cli/run@") for f in i.functions]
    if runs:
        summary = f"a WASI 0.2 command ({runs[0]}): run it with `wasmrun exec {file}`"
        findings.append({"level": "info", "code": "command", "message": summary})
        report["conclusion"] = {"kind": "component", "glue": None, "summary": summary,
                                "command": f"wasmrun exec {file}"}
    if targets:
        names = ", ".join(f"`{t.display}`" for t in targets[:5]) + (
            f" and {len(targets) - 5} more" if len(targets) > 5 else "")
        example = invocation(targets[0], file)
        summary = f"a library exporting {names}: call it with `{example}`"
        findings.append({"level": "info", "code": "library", "message": summary})
        if not runs:
            report["conclusion"] = {"kind": "component", "glue": None, "summary": summary, "command": example}


def text_lines(report: dict[str, Any]) -> list[str]:
    """The component part of ``inspect``'s text report."""
    component = report["component"]
    lines = ["", f"Core modules: {component['core_modules']}"]
    for entry in component.get("modules", []):
        counts = ("" if entry["imports"] is None
                  else f", {entry['imports']} imports, {entry['exports']} exports")
        adapter = f"  (adapter: {entry['adapter']})" if entry["adapter"] else ""
        lines.append(f"  {entry['index']}: {entry['size']:,} bytes at offset 0x{entry['offset']:x}{counts}{adapter}")
    if component.get("wit"):
        lines.append("")
        lines.append("World (WIT):")
        lines.extend(f"  {line}".rstrip() for line in component["wit"].splitlines())
    else:
        lines.append("")
        lines.append("Component imports:")
        lines.extend(f"  {e['kind']:<10} {e['name']}" for e in component["imports"])
        lines.append("Component exports:")
        lines.extend(f"  {e['kind']:<10} {e['name']}" for e in component["exports"])
    return lines
