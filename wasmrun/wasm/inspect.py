"""``inspect``: what a module holds, what looks wrong with it, and how to run it.

:func:`inspect_module` turns a :class:`~wasmrun.wasm.reader.WasmModule` into a plain dict (the
JSON shape documented in ``docs/reference/inspect-json.md``, versioned by ``schema_version``);
:func:`render_text` prints that dict for people. :func:`classify` is the one-line conclusion,
which ``exec`` also uses to refuse modules that need JS glue.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wasmrun.errors import WasmFormatError
from wasmrun.wasm.reader import EXTERNAL_KINDS, WASI_MODULES, Import, Limits, WasmModule, read_file
from wasmrun.wasm.report_json import EntryTable, plain
from wasmrun.wasm.validate import BackgroundValidation, describe, validator_name

SCHEMA = "wasmrun.inspect"
SCHEMA_VERSION = 1

#: A function body above this many bytes is reported as very large (slow to compile, and often a
#: sign of a generated table or an interpreter loop).
LARGE_FUNCTION_BYTES = 100_000
#: How many of the largest functions the report lists.
LARGEST_FUNCTIONS = 10
WASM_PAGE = 65536

_EMSCRIPTEN_PREFIXES = ("emscripten_", "_emscripten_", "__syscall_", "invoke_", "__cxa_", "_embind_", "_abort_js",
                        "__assert_fail", "_tzset_js", "_mmap_js", "_munmap_js", "_localtime_js")
_BINDGEN_PREFIXES = ("__wbg_", "__wbindgen_")
_BINDGEN_MODULES = frozenset({"__wbindgen_placeholder__", "wbg", "__wbindgen_externref_xform__"})
_GO_MODULES = frozenset({"go", "gojs"})
_ASSEMBLYSCRIPT_ENV = frozenset({"abort", "trace", "seed"})


class Conclusion:
    """How to run a module: ``kind`` is one of wasi-command, wasi-reactor, library, component,
    js-glue; ``glue`` names the glue for js-glue (emscripten, wasm-bindgen, go, assemblyscript);
    ``command`` the wasmrun command line that runs it, when there is one."""

    __slots__ = ("command", "glue", "kind", "summary")

    def __init__(self, kind: str, summary: str, glue: str | None = None, command: str | None = None) -> None:
        self.kind = kind
        self.summary = summary
        self.glue = glue
        self.command = command

    def __repr__(self) -> str:
        return f"Conclusion({self.kind!r}, {self.summary!r}, glue={self.glue!r}, command={self.command!r})"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "glue": self.glue, "summary": self.summary, "command": self.command}


def _glue(module: WasmModule) -> str | None:
    """Which JS glue the module's imports (and exports) ask for, if any."""
    foreign = [i for i in module.imports if i.module not in WASI_MODULES]
    for imp in foreign:
        if imp.module in _BINDGEN_MODULES or imp.name.startswith(_BINDGEN_PREFIXES):
            return "wasm-bindgen"
    for imp in foreign:
        if imp.module in _GO_MODULES:
            return "go"
    for imp in foreign:
        if imp.module == "a" or (imp.module == "env" and imp.name.startswith(_EMSCRIPTEN_PREFIXES)):
            return "emscripten"
    if foreign and all(i.module == "env" and i.name in _ASSEMBLYSCRIPT_ENV for i in foreign if i.kind == "func"):
        funcs = [i for i in foreign if i.kind == "func"]
        if funcs:
            return "assemblyscript"
    if foreign and any(e.name.startswith("__wbindgen_") for e in module.exports):
        return "wasm-bindgen"
    return None


def classify(module: WasmModule, file: str = "FILE") -> Conclusion:
    """The one-line conclusion of how to run ``module``."""
    if module.is_component:
        runs = [e.name for e in module.component_exports if e.name.startswith("wasi:cli/run@")]
        if runs:
            return Conclusion("component", f"component, a WASI 0.2 command ({runs[0]}): run it with "
                              f"`wasmrun exec {file}`", command=f"wasmrun exec {file}")
        names = ", ".join(e.name for e in module.component_exports[:5]) or "nothing"
        return Conclusion("component", f"component exporting {names}: not a WASI 0.2 command, it needs a host "
                          "that calls its exports")
    glue = _glue(module)
    if glue is not None:
        return Conclusion("js-glue", f"needs its JS glue ({glue}): serve it with `wasmrun run` on its project",
                          glue=glue)
    exports = {e.name for e in module.exported("func")}
    uses_wasi = any(i.module in WASI_MODULES for i in module.imports)
    foreign = sorted({i.module for i in module.imports if i.module not in WASI_MODULES})
    needs = f" (it also imports from {', '.join(foreign)}, which wasmrun does not provide)" if foreign else ""
    if "_start" in exports:
        return Conclusion("wasi-command", f"WASI command: run it with `wasmrun exec {file} [ARGS...]`{needs}",
                          command=f"wasmrun exec {file}")
    functions = sorted(exports - {"_initialize"})
    example = functions[0] if functions else "NAME"
    if "_initialize" in exports or uses_wasi:
        return Conclusion("wasi-reactor", f"WASI reactor: call an export with `wasmrun exec --invoke {example} "
                          f"{file} [ARGS...]`{needs}", command=f"wasmrun exec --invoke {example} {file}")
    if functions:
        return Conclusion("library", f"library of {len(functions)} exported function(s): call one with "
                          f"`wasmrun exec --invoke {example} {file} [ARGS...]`{needs}",
                          command=f"wasmrun exec --invoke {example} {file}")
    return Conclusion("library", f"library that exports no functions: there is nothing to run{needs}")


def listing(items: Sequence[str], limit: int = 10, *, total: int | None = None) -> str:
    """``a, b, c`` for a short list; a long one is cut: ``a, b, c ... and 19,997 more``. ``items``
    may be the first few of ``total``."""
    total = len(items) if total is None else total
    if total <= limit:
        return ", ".join(items)
    return f"{', '.join(items[:limit])} ... and {total - limit:,} more"


def _type_text(type_texts: list[str], type_index: int) -> str:
    return type_texts[type_index] if type_index < len(type_texts) else f"type {type_index}"


def _type_texts(type_texts: list[str], type_indices: Sequence[int]) -> list[str]:
    """:func:`_type_text` of each index, in one pass when all are in range (as the reader checks)."""
    if not type_indices or max(type_indices) < len(type_texts):
        return list(map(type_texts.__getitem__, type_indices))
    return [_type_text(type_texts, index) for index in type_indices]


def _limits(limits: Limits, page: int | None) -> dict[str, Any]:
    out = limits.as_dict()
    if page is not None:
        size = limits.page_size or page
        out["min_bytes"] = limits.min * size
        out["max_bytes"] = None if limits.max is None else limits.max * size
    return out


def _import_entry(type_texts: list[str], imp: Import, index: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"index": index, "module": imp.module, "name": imp.name}
    if imp.kind in ("func", "tag"):
        assert isinstance(imp.type, int)
        entry["type"] = _type_text(type_texts, imp.type)
    elif imp.kind == "memory":
        assert isinstance(imp.type, Limits)
        entry.update(_limits(imp.type, WASM_PAGE))
    elif imp.kind == "table":
        entry["element_type"] = imp.type.element  # type: ignore[union-attr]
        entry.update(_limits(imp.type.limits, None))  # type: ignore[union-attr]
    else:
        entry["type"] = str(imp.type)
    return entry


def inspect_module(module: WasmModule, file: str | None = None, *, validate: bool = True,
                   validation: BackgroundValidation | None = None, columnar: bool = False) -> dict[str, Any]:
    """The full report as a JSON-ready dict (see docs/reference/inspect-json.md).

    With ``validate`` (the default) wasmtime's validator judges the module too, on another
    thread while the report is built (or ``validation``, already started by the caller): an
    invalid module gets an ``invalid`` error finding with the validator's reason and offset, and
    the conclusion ``invalid``. With ``columnar`` the function imports and exports stay
    :class:`~wasmrun.wasm.report_json.EntryTable` columns, for :func:`report_json` and
    :func:`render_text` (which read them without making a dict per entry); else they are lists."""
    if validate and validation is None:
        validation = BackgroundValidation(module.data, component=module.is_component)
    report = _report(module, file or (str(module.path) if module.path else "FILE"))
    report["validation"] = None
    if validation is not None:
        verdict = validation.result()
        report["validation"] = {"valid": verdict is None, "error": None if verdict is None else verdict[0],
                                "offset": None if verdict is None else verdict[1], "validator": validator_name()}
        if verdict is not None:
            reason = describe(verdict)
            report["findings"].insert(0, {"level": "error", "code": "invalid",
                                          "message": f"invalid: {reason}; no engine will instantiate it"})
            report["conclusion"] = Conclusion("invalid", f"invalid {module.kind}: {reason}: nothing can run it "
                                              "until it is rebuilt").as_dict()
    return report if columnar else plain(report)


def invalid_line(report: dict[str, Any]) -> str | None:
    """The one ``error:`` line for a report whose module the validator refused (as ``verify`` words
    it), or None."""
    validation = report.get("validation")
    if not validation or validation["valid"]:
        return None
    return f"{report['file']}: invalid (validation): {describe((validation['error'], validation['offset']))}"


def _report(module: WasmModule, file: str) -> dict[str, Any]:
    findings: list[dict[str, str]] = []

    def find(level: str, code: str, message: str) -> None:
        findings.append({"level": level, "code": code, "message": message})

    report: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "file": file,
        "size": len(module.data),
        "kind": module.kind,
        "version": module.version,
        "sections": section_table(module),
    }
    for problem in module.custom_section_problems():
        find("warning", "malformed-custom-section", problem)
    if module.is_component:
        report["component"] = {
            "core_modules": module.core_module_count,
            "imports": [{"name": e.name, "kind": e.kind} for e in module.component_imports],
            "exports": [{"name": e.name, "kind": e.kind} for e in module.component_exports],
        }
        report["custom"] = _custom(module)
        report["findings"] = findings
        report["conclusion"] = classify(module, file).as_dict()
        from wasmrun.wasm.component_inspect import describe  # wasmtime reads its types: components only

        describe(module, file, report)
        return report

    names = _safe(module, "names")
    func_names = names.functions if names is not None else {}

    def fname(index: int) -> str | None:
        return func_names.get(index) or module.function_name(index)

    type_texts = [str(t) for t in module.types]  # each type's text once, however many use it
    report["types"] = [{"index": i, "kind": t.kind, "params": list(t.params), "results": list(t.results),
                        "text": type_texts[i]} for i, t in enumerate(module.types)]
    # function imports and exports are nearly every entry of a long list: kept as columns
    # (report_json.EntryTable), 20,000 of them cost no dict and no call each
    imports: dict[str, Any] = {kind: [] for kind in EXTERNAL_KINDS}
    func_imports = module.imported("func")
    imported_texts: list[str] = []
    if func_imports:
        modules, import_names, _, type_indices, _ = zip(*func_imports, strict=True)  # Import's fields, column-wise
        imported_texts = _type_texts(type_texts, type_indices)
        imports["func"] = EntryTable(("index", "module", "name", "type"),
                                     (range(len(func_imports)), modules, import_names, imported_texts))
    for kind in EXTERNAL_KINDS[1:]:
        imports[kind] = [_import_entry(type_texts, imp, index) for index, imp in enumerate(module.imported(kind))]
    report["imports"] = imports
    exports: dict[str, Any] = {kind: [] for kind in EXTERNAL_KINDS}
    # each function's type text, imported ones first, as the function index space has them
    function_texts = imported_texts + _type_texts(type_texts, module.functions)
    n_functions = len(function_texts)
    func_exports = module.exported("func")
    if func_exports:
        export_names = [exp.name for exp in func_exports]
        indices = [exp.index for exp in func_exports]
        texts: list[str | None] = (list(map(function_texts.__getitem__, indices)) if max(indices) < n_functions
                                   else [function_texts[i] if i < n_functions else None for i in indices])
        exports["func"] = EntryTable(("name", "index", "type", "function_name"),
                                     (export_names, indices, texts, list(map(func_names.get, indices))))
    for exp in module.exports:
        if exp.kind != "func":
            exports[exp.kind].append({"name": exp.name, "index": exp.index})
    report["exports"] = exports

    n_imported = module.imported_function_count
    bodies = module.code
    sized = sorted(range(len(bodies)), key=lambda i: bodies[i].size, reverse=True)
    report["functions"] = {
        "imported": n_imported,
        "defined": len(module.functions),
        "total": module.function_count,
        "named": len(func_names),
        "code_bytes": sum(b.size for b in bodies),
        "largest": [{"index": n_imported + i, "name": fname(n_imported + i), "size": bodies[i].size,
                     "offset": bodies[i].offset} for i in sized[:LARGEST_FUNCTIONS]],
    }
    big = [i for i in sized if bodies[i].size > LARGE_FUNCTION_BYTES]
    if big:
        listed = listing([f"{fname(n_imported + i) or n_imported + i} ({bodies[i].size:,} bytes)" for i in big[:5]],
                         5, total=len(big))
        find("warning", "large-functions", f"{len(big)} very large function(s) over {LARGE_FUNCTION_BYTES:,} bytes: "
             f"{listed}; they are slow to compile")

    memories = [{"index": i, "imported": True, "module": imp.module, "name": imp.name,
                 **_limits(imp.type, WASM_PAGE)}  # type: ignore[arg-type]
                for i, imp in enumerate(module.imported("memory"))]
    base = len(memories)
    memories += [{"index": base + i, "imported": False, **_limits(m, WASM_PAGE)} for i, m in enumerate(module.memories)]
    report["memories"] = memories
    for mem in memories:
        if mem["max"] is not None and mem["max"] < mem["min"]:
            find("error", "memory-max-below-min",
                 f"memory {mem['index']}: maximum {mem['max']} pages is below its minimum {mem['min']}")
    tables = [{"index": i, "imported": True, "module": imp.module, "name": imp.name,
               "element_type": imp.type.element, **_limits(imp.type.limits, None)}  # type: ignore[union-attr]
              for i, imp in enumerate(module.imported("table"))]
    base = len(tables)
    tables += [{"index": base + i, "imported": False, "element_type": t.type.element, **_limits(t.type.limits, None)}
               for i, t in enumerate(module.tables)]
    report["tables"] = tables
    for table in tables:
        if table["max"] is not None and table["max"] < table["min"]:
            find("error", "table-max-below-min",
                 f"table {table['index']}: maximum {table['max']} is below its minimum {table['min']}")

    global_names = names.globals if names is not None else {}
    globals_ = [{"index": i, "imported": True, "module": imp.module, "name": global_names.get(i, imp.name),
                 "type": imp.type.valtype, "mutable": imp.type.mutable, "init": None}  # type: ignore[union-attr]
                for i, imp in enumerate(module.imported("global"))]
    base = len(globals_)
    globals_ += [{"index": base + i, "imported": False, "name": global_names.get(base + i),
                  "type": g.type.valtype, "mutable": g.type.mutable, "init": g.init.text}
                 for i, g in enumerate(module.globals)]
    report["globals"] = globals_

    report["data"] = [{"index": i, "mode": d.mode, "memory": d.memory,
                       "offset": d.offset_expr.value if d.offset_expr else None,
                       "offset_expr": d.offset_expr.text if d.offset_expr else None, "size": d.size,
                       "file_offset": d.data_offset} for i, d in enumerate(module.data_segments)]
    if module.data_segments and not memories:
        find("error", "data-without-memory", f"{len(module.data_segments)} data segment(s) but no memory")
    report["elements"] = [{"index": i, "mode": e.mode, "table": e.table,
                           "offset": e.offset_expr.value if e.offset_expr else None,
                           "offset_expr": e.offset_expr.text if e.offset_expr else None,
                           "element_type": e.element_type, "count": e.count} for i, e in enumerate(module.elements)]
    if any(e.mode == "active" for e in module.elements) and not tables:
        find("error", "elements-without-table", "active element segments but no table")
    start = module.start
    report["start"] = None if start is None else {"index": start, "name": fname(start)}
    report["data_count"] = module.data_count
    report["custom"] = _custom(module)
    report["module_name"] = names.module if names is not None else None
    producers = _safe(module, "producers")
    report["producers"] = None if producers is None else {
        field: [{"name": n, "version": v} for n, v in values] for field, values in producers.items()}
    features = _safe(module, "target_features")
    report["target_features"] = None if features is None else [{"prefix": p, "name": n} for p, n in features]
    report["source_mapping_url"] = _safe(module, "source_mapping_url")
    dylink = _safe(module, "dylink")
    report["dylink"] = None if dylink is None else {
        "memory_size": dylink.memory_size, "memory_align": dylink.memory_align, "table_size": dylink.table_size,
        "table_align": dylink.table_align, "needed": dylink.needed}

    func_exports = module.exported("func")
    if not module.exports:
        find("warning", "no-exports", "the module exports nothing: there is nothing a host can call")
    elif func_exports and all(e.name.startswith("__wbindgen_") or e.name.startswith("__wbg_") for e in func_exports):
        find("warning", "only-wasm-bindgen-exports",
             "every exported function is a wasm-bindgen internal: the useful API is in its JS glue")
    for exp in func_exports:
        if exp.name not in ("_start", "_initialize"):
            continue
        func_type = module.function_type(exp.index)
        if func_type is not None and (func_type.params or func_type.results):
            find("warning", "bad-entry-signature", f"{exp.name} has type {func_type}; WASI expects () -> ()")
    debug = [s for s in module.custom_sections() if s.name and s.name.startswith(".debug_")]
    if debug:
        find("info", "debug-info", f"DWARF debug info: {len(debug)} sections, {sum(s.size for s in debug):,} bytes "
             "(a release build strips them)")
    conclusion = classify(module, file)
    if conclusion.glue:
        find("info", "needs-js-glue", f"imports only its {conclusion.glue} JS glue provides")
    report["findings"] = findings
    report["conclusion"] = conclusion.as_dict()
    return report


def _safe(module: WasmModule, attr: str) -> Any:
    """A custom section's decoding, or None when it is malformed (reported as a finding)."""
    try:
        return getattr(module, attr)
    except WasmFormatError:
        return None


def _custom(module: WasmModule) -> list[dict[str, Any]]:
    return [{"name": s.name, "offset": s.offset, "size": s.size} for s in module.custom_sections()]


def section_table(module: WasmModule) -> list[dict[str, Any]]:
    """Every section: id, name, offset of its id byte, offset and size of its payload, entry count."""
    return [{"id": s.id, "name": module.section_name(s), "custom_name": s.name, "offset": s.offset,
             "payload_offset": s.payload_offset, "size": s.size, "count": module.section_count(s)}
            for s in module.sections]


def summary(module: WasmModule) -> dict[str, Any]:
    """Counts for ``verify --detailed``."""
    if module.is_component:
        return {"kind": "component", "core_modules": module.core_module_count,
                "imports": len(module.component_imports), "exports": len(module.component_exports)}
    return {
        "kind": "module", "types": len(module.types), "imports": len(module.imports),
        "functions": module.function_count, "defined_functions": len(module.functions),
        "tables": module.space_size("table"), "memories": module.space_size("memory"),
        "globals": module.space_size("global"), "exports": len(module.exports), "start": module.start,
        "elements": len(module.elements), "data": len(module.data_segments),
        "code_bytes": sum(b.size for b in module.code),
        "custom": [s.name for s in module.custom_sections()],
    }


def inspect_file(path: Path, *, columnar: bool = False) -> dict[str, Any]:
    """The report for a file (``columnar`` as in :func:`inspect_module`); the validator runs while
    the structure is read. A malformed structure raises WasmFormatError naming the file; see
    :func:`read_file` for what else is refused."""
    data = read_file(path)
    try:
        module = WasmModule(data, path)
        validation = BackgroundValidation(data, component=module.is_component)
        module.parse_all()
    except WasmFormatError as exc:
        raise WasmFormatError(f"{path}: {exc.message}") from None
    return inspect_module(module, str(path), validation=validation, columnar=columnar)


# ---------------------------------------------------------------------------------------------
# Text


def _limits_text(entry: dict[str, Any], unit: str = "") -> str:
    text = f"min {entry['min']}{unit}" + (f", max {entry['max']}{unit}" if entry["max"] is not None else ", no max")
    if "min_bytes" in entry:
        text += f" ({_bytes(entry['min_bytes'])}" + (
            f" to {_bytes(entry['max_bytes'])})" if entry.get("max_bytes") is not None else ")")
    if entry.get("shared"):
        text += ", shared"
    if entry.get("index64"):
        text += ", 64-bit"
    return text


def _bytes(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1024  # type: ignore[assignment]
    return str(n)


def section_lines(sections: list[dict[str, Any]]) -> list[str]:
    """The section table, one line each, as ``inspect`` and ``verify --detailed`` print it."""
    lines = []
    for s in sections:
        label = s["name"] if s["custom_name"] is None else f"custom {s['custom_name']!r}"
        count = "" if s["count"] is None else f"  count {s['count']}"
        lines.append(f"{label:<24} offset 0x{s['payload_offset']:08x}  size {s['size']:>10,}{count}")
    return lines


def render_text(report: dict[str, Any], *, limit: int = 20) -> str:
    """The report for people; long lists are cut at ``limit`` lines each."""
    lines: list[str] = [f"{report['file']}: WebAssembly {report['kind']}, version {report['version']}, "
                        f"{report['size']:,} bytes"]

    def cut(items: list[Any]) -> tuple[list[Any], str | None]:
        if len(items) <= limit:
            return items, None
        return items[:limit], f"    ... and {len(items) - limit} more (--json lists them all)"

    def block(title: str, rows: list[str]) -> None:
        if not rows:
            return
        lines.append("")
        lines.append(title)
        shown, more = cut(rows)
        lines.extend(f"  {row}" for row in shown)
        if more:
            lines.append(more)

    block("Sections:", section_lines(report["sections"]))
    if report["kind"] == "component":
        from wasmrun.wasm.component_inspect import text_lines

        lines.extend(text_lines(report))
    else:
        block("Types:", [f"{t['index']:>4}: {t['text']}" for t in report["types"]])
        for group, title in (("imports", "Imports"), ("exports", "Exports")):
            rows = []
            for kind in EXTERNAL_KINDS:
                for e in report[group][kind]:
                    where = f"{e['module']}.{e['name']}" if group == "imports" else e["name"]
                    detail = e.get("type") or ""
                    if kind in ("memory", "table") and group == "imports":
                        detail = _limits_text(e, " pages" if kind == "memory" else "")
                    rows.append(f"{kind:<7} {where}  {detail}".rstrip())
            block(f"{title}:", rows)
        f = report["functions"]
        lines.append("")
        lines.append(f"Functions: {f['total']} ({f['imported']} imported, {f['defined']} defined, {f['named']} named), "
                     f"code {_bytes(f['code_bytes'])}")
        for entry in f["largest"][:5]:
            lines.append(f"  largest: {entry['name'] or '#' + str(entry['index'])} {entry['size']:,} bytes")
        block("Memories:", [f"{m['index']}: {_limits_text(m, ' pages')}" + (" (imported)" if m["imported"] else "")
                            for m in report["memories"]])
        block("Tables:", [f"{t['index']}: {t['element_type']} {_limits_text(t)}" + (" (imported)" if t["imported"]
                                                                                     else "")
                          for t in report["tables"]])
        block("Globals:", [f"{g['index']}: {'mut ' if g['mutable'] else ''}{g['type']}"
                           + (f" = {g['init']}" if g["init"] else " (imported)")
                           + (f"  {g['name']}" if g["name"] else "") for g in report["globals"]])
        block("Data segments:", [f"{d['index']}: {d['mode']}" + (f" memory {d['memory']} at {d['offset_expr']}"
                                                                 if d["mode"] == "active" else "")
                                 + f", {d['size']:,} bytes" for d in report["data"]])
        block("Element segments:", [f"{e['index']}: {e['mode']} {e['element_type']} x {e['count']}"
                                    + (f" table {e['table']} at {e['offset_expr']}" if e["mode"] == "active" else "")
                                    for e in report["elements"]])
        if report["start"] is not None:
            lines.append("")
            lines.append(f"Start function: {report['start']['index']}"
                         + (f" ({report['start']['name']})" if report["start"]["name"] else ""))
        if report.get("producers"):
            block("Producers:", [f"{field}: " + ", ".join(f"{v['name']} {v['version']}".strip() for v in values)
                                 for field, values in report["producers"].items()])
        if report.get("target_features"):
            lines.append("")
            lines.append("Target features: " + " ".join(f"{t['prefix']}{t['name']}" for t in report["target_features"]))
        if report.get("source_mapping_url"):
            lines.append(f"Source map: {report['source_mapping_url']}")
    if report["findings"]:
        block("Findings:", [f"{x['level']}: {x['message']}" for x in report["findings"]])
    lines.append("")
    lines.append(f"Conclusion: {report['conclusion']['summary']}")
    return "\n".join(lines)
