"""Preparing one exec's JavaScript or TypeScript on the host, before the sandbox's QuickJS runs it.

Two steps, both on source text only (never a file of the session, never the client's config):

1. **Declarations that outlive the cell.** The runtime evaluates each cell by indirect ``eval``,
   where top-level ``let``, ``const`` and ``class`` would die with the cell. tree-sitter parses
   the cell and its top-level ``let``/``const`` become ``var`` and ``class C`` becomes
   ``var C = class C``, and ``import`` statements become ``var``s over ``require`` (hoisted to
   the first line), so the next exec sees them, as a notebook or the Node REPL would. A cell
   with top-level ``await`` becomes an async function (declarations hoisted out as ``var``s,
   initialisers turned into assignments, function declarations moved in front) whose promise the
   runtime waits for.
2. **Compiling** with esbuild (pinned, managed: :mod:`wasmrun.component_tools`) and wasmrun's fixed
   options: TypeScript's types stripped (no type check: speed), and async functions, async
   generators and ``for await`` lowered onto generators and the prelude's ``Promise``, whose jobs
   the runtime runs (QuickJS runs none of its own once an export returns); decorators lowered. esbuild gets the text
   on stdin, runs in an empty directory with an empty environment and a time cap. Plain
   JavaScript with no ``async``, ``await`` or ``@`` skips it (QuickJS reports its own syntax errors).

A syntax error is a :class:`CellCompileError` whose message is one line naming where.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from wasmrun import component_tools

COMPILE_TIMEOUT_S = 10.0
#: The most time parsing a cell for its declarations may take (the host's CPU, not the sandbox's).
PARSE_BUDGET_S = 0.5
#: The TypeScript options every cell is compiled with (the client's tsconfig is never read).
TSCONFIG = ('{"compilerOptions":{"useDefineForClassFields":true,"experimentalDecorators":false,'
            '"verbatimModuleSyntax":false}}')
ESBUILD_OPTIONS = ("--supported:async-await=false", "--supported:async-generator=false",
                   "--supported:for-await=false", "--supported:decorators=false",
                   "--supported:dynamic-import=false", "--charset=utf8",
                   "--log-level=error", "--color=false", "--log-limit=1", f"--tsconfig-raw={TSCONFIG}")
#: What in plain JavaScript needs esbuild (QuickJS has no job queue of its own, nor decorators).
_NEEDS_COMPILING = re.compile(r"\b(async|await)\b|@")
#: A cell that may have ``import`` statements (or ``import()``): esbuild turns them into the
#: runtime's ``require`` (``--format=cjs``); a false match only costs the compile.
_IMPORT = re.compile(r"\bimport\b")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
#: Where the runtime finds a top-level-await cell's promise (js_runtime.js reads and deletes it).
CELL_PROMISE = "globalThis.__wasmrunCell"
_FUNCTIONS = frozenset({"function_declaration", "generator_function_declaration", "function_expression",
                        "function", "generator_function", "arrow_function", "method_definition",
                        "class_body"})


DEFAULT_FILENAME = "<exec>"


class CellCompileError(Exception):
    """The cell does not compile: exit code 1 with :attr:`message` on stderr."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Prepared:
    """The code the runtime evaluates; ``async_cell`` when it is wrapped for top-level await."""

    code: str
    async_cell: bool = False


def prepare(source: str, *, typescript: bool, filename: str = DEFAULT_FILENAME) -> Prepared:
    """``source`` made ready for the runtime's ``run`` (see the module's docstring); ``filename``
    names the cell in compile errors."""
    source = _LONE_SURROGATE.sub("\ufffd", source)  # JSON can carry them; UTF-8 cannot
    rewritten, async_cell = persist_declarations(source, typescript=typescript)
    imports = bool(_IMPORT.search(rewritten))
    if not typescript and not imports and not _NEEDS_COMPILING.search(rewritten):
        return Prepared(rewritten, async_cell)
    return Prepared(compile_cell(rewritten, typescript=typescript, filename=filename, imports=imports), async_cell)


def failing_cell(error: CellCompileError) -> str:
    """Code that reports ``error`` as the cell's own failure: its one line on stderr (no stack),
    exit code 1, the session's state untouched."""
    name, _, detail = error.message.partition(": ")
    if not detail or not name.isidentifier():
        name, detail = "Error", error.message
    return (f"throw Object.assign(new Error({json.dumps(detail)}), "
            f"{{ name: {json.dumps(name)}, stack: \"\" }});\n")


# --- 1. declarations -----------------------------------------------------------------------------

_local = threading.local()


def _parser(typescript: bool) -> Any:
    """This thread's parser for the language (a tree-sitter parser is not to be shared between
    threads, and the sandbox prepares cells in a pool of them)."""
    parsers = _local.__dict__.setdefault("parsers", {})
    if typescript not in parsers:
        parsers[typescript] = _new_parser(typescript)
    return parsers[typescript]


@cache
def _language(typescript: bool) -> Any:
    import tree_sitter

    if typescript:
        import tree_sitter_typescript

        return tree_sitter.Language(tree_sitter_typescript.language_typescript())
    import tree_sitter_javascript

    return tree_sitter.Language(tree_sitter_javascript.language())


def _new_parser(typescript: bool) -> Any:
    import tree_sitter

    return tree_sitter.Parser(_language(typescript))


def persist_declarations(source: str, *, typescript: bool, imports_done: bool = False) -> tuple[str, bool]:
    """(the cell with its top-level declarations made global, whether it has top-level await).
    A cell tree-sitter cannot parse is returned as it is: the compiler or QuickJS reports it."""
    data = source.encode("utf-8")
    deadline = time.monotonic() + PARSE_BUDGET_S
    parser = _parser(typescript)
    try:  # tree-sitter's error recovery is slow on hostile nesting: given up on an error or past the budget
        tree = parser.parse(lambda offset, _: data[offset:offset + 65536],
                            progress_callback=lambda _, error: error or time.monotonic() > deadline)
    except ValueError:  # cancelled; without a reset the parser's next parse would resume this one
        parser.reset()
        return source, False
    root = tree.root_node
    if root.has_error:
        return source, False
    statements = list(root.named_children)
    imports = [node for node in statements if node.type == "import_statement"]
    if imports and not imports_done:
        return persist_declarations(_imports_as_vars(data, imports).decode("utf-8"), typescript=typescript,
                                    imports_done=True)
    if any(_has_top_level_await(node) for node in statements):
        try:
            return _async_cell(data, statements), True
        except RecursionError:  # a pattern nested thousands deep: left for the compiler to judge
            return source, False
    edits: list[tuple[int, int, bytes]] = []
    for node in statements:
        if node.type == "lexical_declaration":
            keyword = node.children[0]
            edits.append((keyword.start_byte, keyword.end_byte, b"var"))
        elif node.type == "class_declaration" and (name := node.child_by_field_name("name")) is not None:
            edits.append((node.start_byte, node.start_byte, b"var " + _text(name) + b" = "))
            edits.append((node.end_byte, node.end_byte, b";"))
    return _apply(data, edits).decode("utf-8"), False


#: ``import x from 'm'`` binds the module's default export: an ES module's ``default``, else (a
#: CommonJS module) the module itself, as esbuild's and Node's interop do.
_DEFAULT = b"(m => m && m.__esModule ? m.default : m)"
#: ``import * as ns from 'm'``: an ES module's namespace, or a CommonJS module's exports plus ``default``.
_NAMESPACE = b"(m => m && m.__esModule ? m : Object.assign({ default: m }, m))"


def _imports_as_vars(data: bytes, imports: list[Any]) -> bytes:
    """The cell with its top-level ``import`` statements turned into ``var``s over ``require``, so
    imported names outlive the cell like its other declarations. The declarations go in front of
    the first line (imports are hoisted in a module, and line numbers in errors stay the same);
    type-only imports are dropped."""
    hoisted = [declaration for node in imports if (declaration := _import_as_var(node))]
    edits = [(node.start_byte, node.end_byte, b"") for node in imports]
    if hoisted:
        edits.append((0, 0, b" ".join(hoisted) + b" "))
    return _apply(data, edits)


def _import_as_var(node: Any) -> bytes:
    """One ``import`` statement as a ``var`` declaration (or a bare ``require`` for an import for
    its effects only; nothing for a type-only one)."""
    if any(child.type == "type" for child in node.children):
        return b""
    require_clause = next((child for child in node.named_children if child.type == "import_require_clause"), None)
    if require_clause is not None:  # TypeScript's import x = require('m')
        name, module = require_clause.named_children[0], require_clause.named_children[-1]
        return b"var " + _text(name) + b" = require(" + _text(module) + b");"
    source = node.child_by_field_name("source")
    if source is None:
        return _text(node)
    call = b"require(" + _text(source) + b")"
    clause = next((child for child in node.named_children if child.type == "import_clause"), None)
    if clause is None:
        return call + b";"
    declarators: list[bytes] = []
    for part in clause.named_children:
        if part.type == "identifier":
            declarators.append(_text(part) + b" = " + _DEFAULT + b"(" + call + b")")
        elif part.type == "namespace_import":
            declarators.append(_text(part.named_children[-1]) + b" = " + _NAMESPACE + b"(" + call + b")")
        elif part.type == "named_imports":
            pairs = []
            for specifier in part.named_children:
                name = specifier.child_by_field_name("name")
                if specifier.type != "import_specifier" or name is None or \
                        any(child.type == "type" for child in specifier.children):
                    continue
                local = specifier.child_by_field_name("alias") or name
                if _text(name) == b"default":
                    declarators.append(_text(local) + b" = " + _DEFAULT + b"(" + call + b")")
                else:
                    pairs.append(_text(name) + b": " + _text(local))
            if pairs:
                declarators.append(b"{ " + b", ".join(pairs) + b" } = " + call)
    return b"var " + b", ".join(declarators) + b";" if declarators else b""


def _has_top_level_await(statement: Any) -> bool:
    """Whether an ``await`` (or ``for await``) is in ``statement`` outside any function (a loop,
    not recursion: a hostile cell nests thousands deep)."""
    pending = [statement]
    while pending:
        node = pending.pop()
        if node.type == "await_expression":
            return True
        if node.type == "for_in_statement" and any(child.type == "await" for child in node.children):
            return True
        if node.type not in _FUNCTIONS:
            pending.extend(node.children)
    return False


def _async_cell(data: bytes, statements: list[Any]) -> str:
    """The cell as an async function: names declared at the top level become global ``var``s
    (assigned inside), function declarations are moved in front, the rest runs in order."""
    names: list[bytes] = []
    functions: list[bytes] = []
    body: list[bytes] = []
    position = 0
    for node in statements:
        body.append(data[position:node.start_byte])  # comments and blank lines between statements
        position = node.end_byte
        kind = node.type
        if kind in ("function_declaration", "generator_function_declaration", "import_statement"):
            functions.append(_text(node))
        elif kind in ("lexical_declaration", "variable_declaration"):
            assignments = []
            for declarator in node.named_children:
                if declarator.type != "variable_declarator":
                    continue
                target = declarator.child_by_field_name("name")
                value = declarator.child_by_field_name("value")
                if target is None:
                    continue
                names.extend(_pattern_names(target))
                if value is not None:
                    assignments.append(b"(" + _text(target) + b" = " + _text(value) + b");")
                elif target.type == "identifier":
                    assignments.append(_text(target) + b" = void 0;")
            body.append(b" ".join(assignments))
        elif kind == "class_declaration" and (name := node.child_by_field_name("name")) is not None:
            names.append(_text(name))
            body.append(_text(name) + b" = " + _text(node) + b";")
        else:
            body.append(_text(node))
    body.append(data[position:])
    unique = list(dict.fromkeys(names))
    head = (b"var " + b", ".join(unique) + b";\n") if unique else b""
    wrapped = (head + b"\n".join(functions) + b"\n" + CELL_PROMISE.encode() + b" = (async () => {\n"
               + b"".join(body) + b"\n})();\n")
    return wrapped.decode("utf-8")


def _pattern_names(node: Any) -> list[bytes]:
    """The names a binding pattern declares (not its property keys, not its default values)."""
    kind = node.type
    if kind in ("identifier", "shorthand_property_identifier_pattern"):
        return [_text(node)]
    if kind == "pair_pattern":
        value = node.child_by_field_name("value")
        return _pattern_names(value) if value is not None else []
    if kind in ("assignment_pattern", "object_assignment_pattern"):
        left = node.child_by_field_name("left")
        return _pattern_names(left) if left is not None else []
    if kind in ("object_pattern", "array_pattern", "rest_pattern"):
        return [name for child in node.named_children for name in _pattern_names(child)]
    return []


def _text(node: Any) -> bytes:
    return bytes(node.text or b"")


def _apply(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    out, position = [], 0
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        out += [data[position:start], replacement]
        position = end
    out.append(data[position:])
    return b"".join(out)


# --- 2. compiling --------------------------------------------------------------------------------

def esbuild_binary() -> list[str]:
    """How to run the pinned esbuild: its native binary for this platform when npm installed one
    (20 ms a cell), else its Node launcher."""
    root = component_tools.ensure(component_tools.ESBUILD) / "node_modules"
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(platform.machine().lower(),
                                                                          platform.machine().lower())
    native = root / "@esbuild" / f"{platform.system().lower()}-{machine}" / "bin" / "esbuild"
    if native.is_file() and os.access(native, os.X_OK):
        return [str(native)]
    from wasmrun.languages.javascript.build import node

    return [node(), str(root / "esbuild" / "bin" / "esbuild")]


def compile_cell(source: str, *, typescript: bool, filename: str = DEFAULT_FILENAME, imports: bool = False) -> str:
    """esbuild over ``source`` (stdin) with the fixed options; a syntax error is a
    :class:`CellCompileError` with esbuild's first error in one line. With ``imports``, ``import``
    statements become ``require`` calls (``--format=cjs``: the bindings are top-level ``var``s)."""
    argv = [*esbuild_binary(), f"--loader={'ts' if typescript else 'js'}", f"--sourcefile={filename}",
            *ESBUILD_OPTIONS, *(["--format=cjs"] if imports else [])]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    with tempfile.TemporaryDirectory(prefix="wasmrun-cell-") as empty:
        try:
            proc = subprocess.run(argv, input=source.encode("utf-8"), capture_output=True, cwd=empty, env=env,
                                  timeout=COMPILE_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise CellCompileError(f"the compiler did not finish within {COMPILE_TIMEOUT_S:g} s") from None
    if proc.returncode != 0:
        raise CellCompileError(first_error(proc.stderr.decode("utf-8", "replace")))
    return proc.stdout.decode("utf-8")


def first_error(output: str) -> str:
    """esbuild's ``✘ [ERROR] message`` and the ``<exec>:1:7:`` under it, as one line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    message = next((line.split("[ERROR]", 1)[1].strip() for line in lines if "[ERROR]" in line), "")
    where = next((line.rstrip(":") for line in lines if re.search(r"\S:\d+:\d+:$", line)), "")
    if not message:
        return f"SyntaxError: {lines[0] if lines else 'the compiler failed'}"
    return f"SyntaxError: {message}" + (f" ({where})" if where else "")


def warm() -> None:
    """Install the pinned esbuild and load both grammars now (the runtime's build calls it), so
    the first exec does not pay for them."""
    esbuild_binary()
    _parser(False)
    _parser(True)
