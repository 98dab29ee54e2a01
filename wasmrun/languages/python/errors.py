"""Compile errors of the embedded Python compiler: one line, ``file:line:col: construct ... (supported
instead: ...)``, raised as :class:`~wasmrun.errors.BuildError` so the CLI exits 1 without a traceback."""

from __future__ import annotations

import ast

from wasmrun.errors import BuildError

#: What to write instead of a construct outside the subset, by ``ast`` class name.
ALTERNATIVES: dict[str, str] = {
    "AsyncFunctionDef": "a plain def with annotated parameters and return type",
    "ClassDef": "top-level functions over int, float, bool and str values",
    "Delete": "assigning a new value",
    "For": "for NAME in range(...)",
    "AsyncFor": "for NAME in range(...)",
    "With": "straight-line code",
    "AsyncWith": "straight-line code",
    "Match": "if/elif/else",
    "Raise": "returning an error value, or assert",
    "Try": "checking values before the operation",
    "TryStar": "checking values before the operation",
    "Import": "import math",
    "ImportFrom": "import math (then math.sqrt, math.floor, ...)",
    "Global": "module-level constants, or passing values as parameters",
    "Nonlocal": "passing values as parameters",
    "NamedExpr": "a separate assignment",
    "Lambda": "a top-level def",
    "Dict": "int, float, bool and str values",
    "Set": "int, float, bool and str values",
    "List": "int, float, bool and str values",
    "Tuple": "a, b = x, y swaps, or separate variables",
    "ListComp": "a for loop over range(...)",
    "SetComp": "a for loop over range(...)",
    "DictComp": "a for loop over range(...)",
    "GeneratorExp": "a for loop over range(...)",
    "Await": "plain function calls",
    "Yield": "return",
    "YieldFrom": "return",
    "FormattedValue": "print(a, b, sep='')",
    "JoinedStr": "print(a, b, sep='')",
    "Attribute": "math.sqrt, math.floor, math.ceil, math.trunc, math.fabs, math.copysign, math.isnan, "
                 "math.isinf, math.isfinite, math.pi, math.e, math.inf, math.nan",
    "Subscript": "int, float, bool and str values",
    "Starred": "explicit arguments",
    "Slice": "int, float, bool and str values",
    "MatMult": "*, with int or float operands",
    "Is": "== and !=",
    "IsNot": "== and !=",
    "In": "== and comparisons",
    "NotIn": "== and comparisons",
    "Interactive": "a module",
    "Expression": "a module",
    "FunctionType": "a module",
    "TypeAlias": "the built-in types int, float, bool, str",
}

#: Human names of constructs, by ``ast`` class name (default: the class name).
CONSTRUCT_NAMES: dict[str, str] = {
    "AsyncFunctionDef": "'async def'", "ClassDef": "'class'", "Delete": "'del'", "AsyncFor": "'async for'",
    "With": "'with'", "AsyncWith": "'async with'", "Match": "'match'", "Raise": "'raise'", "Try": "'try'",
    "TryStar": "'try/except*'", "Global": "'global'", "Nonlocal": "'nonlocal'", "NamedExpr": "':=' (walrus)",
    "Lambda": "'lambda'", "Dict": "dict", "Set": "set", "List": "list", "Tuple": "tuple",
    "ListComp": "list comprehension", "SetComp": "set comprehension", "DictComp": "dict comprehension",
    "GeneratorExp": "generator expression", "Await": "'await'", "Yield": "'yield'", "YieldFrom": "'yield from'",
    "JoinedStr": "f-string", "FormattedValue": "f-string", "Subscript": "subscript", "Starred": "'*' unpacking",
    "Slice": "slice", "MatMult": "operator '@'", "Is": "operator 'is'", "IsNot": "operator 'is not'",
    "In": "operator 'in'", "NotIn": "operator 'not in'",
}


class CompileError(BuildError):
    """Source outside the supported subset (or ill-typed), at ``file:line:col``."""

    def __init__(self, filename: str, line: int, col: int, construct: str, supported: str) -> None:
        self.filename, self.line, self.col = filename, line, col
        self.construct, self.supported = construct, supported
        super().__init__(f"{filename}:{line}:{col}: {construct} (supported instead: {supported})")


def error_at(filename: str, node: ast.AST | None, construct: str, supported: str) -> CompileError:
    """A :class:`CompileError` at ``node``'s position (1-based line and column)."""
    line = getattr(node, "lineno", 1) if node is not None else 1
    col = getattr(node, "col_offset", 0) + 1 if node is not None else 1
    return CompileError(filename, line, col, construct, supported)


def unsupported(filename: str, node: ast.AST, context: str = "") -> CompileError:
    """The error for a node class outside the subset, naming the construct and the alternative."""
    kind = type(node).__name__
    name = CONSTRUCT_NAMES.get(kind, kind)
    where = f" {context}" if context else ""
    return error_at(filename, node, f"construct {name} is not supported{where}",
                    ALTERNATIVES.get(kind, "see docs/languages/python.md for the supported subset"))
