"""Everything outside the subset is a one-line compile error ``file:line:col: ... (supported
instead: ...)``: never a traceback, never silently different code."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from wasmrun.building import compile_project
from wasmrun.languages.python.compiler import SUPPORTED_NODES, compile_source
from wasmrun.languages.python.errors import CompileError
from wasmrun.plugins import load_plugins

ERROR_LINE = re.compile(r"^main\.py:\d+:\d+: .+ \(supported instead: .+\)$")

#: A module using each node class outside the subset, by class name.
SNIPPETS: dict[str, str] = {
    "AsyncFunctionDef": "async def f() -> int:\n    return 1\n",
    "ClassDef": "class A:\n    pass\n",
    "Delete": "def f(x: int) -> None:\n    del x\n",
    "AsyncFor": "async def f() -> None:\n    async for x in y:\n        pass\n",
    "With": "def f() -> None:\n    with open('x') as h:\n        pass\n",
    "AsyncWith": "async def f() -> None:\n    async with y:\n        pass\n",
    "Match": "def f(x: int) -> None:\n    match x:\n        case 1:\n            pass\n",
    "Raise": "def f() -> None:\n    raise ValueError('x')\n",
    "Try": "def f() -> None:\n    try:\n        pass\n    except ValueError:\n        pass\n",
    "TryStar": "def f() -> None:\n    try:\n        pass\n    except* ValueError:\n        pass\n",
    "Global": "def f() -> None:\n    global X\n",
    "Nonlocal": "def f() -> None:\n    def g() -> None:\n        nonlocal x\n",
    "NamedExpr": "def f(x: int) -> int:\n    return (y := x)\n",
    "Lambda": "def f() -> int:\n    g = lambda: 1\n    return 1\n",
    "Dict": "def f() -> None:\n    d = {1: 2}\n",
    "Set": "def f() -> None:\n    s = {1, 2}\n",
    "List": "def f() -> None:\n    s = [1, 2]\n",
    "ListComp": "def f() -> None:\n    s = [i for i in range(3)]\n",
    "SetComp": "def f() -> None:\n    s = {i for i in range(3)}\n",
    "DictComp": "def f() -> None:\n    s = {i: i for i in range(3)}\n",
    "GeneratorExp": "def f() -> None:\n    s = (i for i in range(3))\n",
    "Await": "async def f() -> None:\n    await g()\n",
    "Yield": "def f() -> int:\n    yield 1\n",
    "YieldFrom": "def f() -> int:\n    yield from g()\n",
    "FormattedValue": "def f(x: int) -> None:\n    print(f'{x}')\n",
    "JoinedStr": "def f(x: int) -> None:\n    print(f'{x}')\n",
    "Subscript": "def f(x: str) -> str:\n    return x[0]\n",
    "Starred": "def f(x: int) -> None:\n    print(*x)\n",
    "Slice": "def f(x: str) -> str:\n    return x[1:2]\n",
    "Del": "def f(x: int) -> None:\n    del x\n",
    "MatMult": "def f(x: int) -> int:\n    return x @ x\n",
    "Is": "def f(x: int) -> bool:\n    return x is 1\n",
    "IsNot": "def f(x: int) -> bool:\n    return x is not 1\n",
    "In": "def f(x: int) -> bool:\n    return x in 1\n",
    "NotIn": "def f(x: int) -> bool:\n    return x not in 1\n",
    "comprehension": "def f() -> None:\n    s = [i for i in range(3)]\n",
    "ExceptHandler": "def f() -> None:\n    try:\n        pass\n    except ValueError:\n        pass\n",
    "withitem": "def f() -> None:\n    with open('x') as h:\n        pass\n",
    "match_case": "def f(x: int) -> None:\n    match x:\n        case 1:\n            pass\n",
    "MatchValue": "def f(x: int) -> None:\n    match x:\n        case 1:\n            pass\n",
    "MatchSingleton": "def f(x: int) -> None:\n    match x:\n        case None:\n            pass\n",
    "MatchSequence": "def f(x: int) -> None:\n    match x:\n        case [a]:\n            pass\n",
    "MatchMapping": "def f(x: int) -> None:\n    match x:\n        case {'a': 1}:\n            pass\n",
    "MatchClass": "def f(x: int) -> None:\n    match x:\n        case int():\n            pass\n",
    "MatchStar": "def f(x: int) -> None:\n    match x:\n        case [*rest]:\n            pass\n",
    "MatchAs": "def f(x: int) -> None:\n    match x:\n        case y:\n            pass\n",
    "MatchOr": "def f(x: int) -> None:\n    match x:\n        case 1 | 2:\n            pass\n",
    "TypeAlias": "type X = int\n",
    "TypeVar": "def f[T](x: int) -> int:\n    return x\n",
    "ParamSpec": "def f[**P](x: int) -> int:\n    return x\n",
    "TypeVarTuple": "def f[*Ts](x: int) -> int:\n    return x\n",
}

#: Classes ``ast.parse`` never produces for a module (other parse modes, type comments).
NOT_IN_MODULES = {"Interactive", "Expression", "FunctionType", "TypeIgnore"}
#: Abstract categories and deprecated aliases, not node types of their own.
NOT_NODE_TYPES = {"AST", "mod", "stmt", "expr", "expr_context", "boolop", "operator", "unaryop", "cmpop",
                  "excepthandler", "pattern", "type_ignore", "type_param", "slice", "Num", "Str", "Bytes",
                  "NameConstant", "Ellipsis", "Index", "ExtSlice", "Suite", "AugLoad", "AugStore", "Param"}



#: The typed compiler, chosen in wasmrun.toml (these tests are about its errors).
TYPED = 'toolchain = "typed"\n'

def node_classes() -> list[type[ast.AST]]:
    found: set[type[ast.AST]] = set()
    todo: list[type[ast.AST]] = [ast.AST]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub.__module__ == "ast" and sub not in found:
                found.add(sub)
                todo.append(sub)
    return sorted((c for c in found if c.__name__ not in NOT_NODE_TYPES), key=lambda c: c.__name__)


def unsupported_classes() -> list[str]:
    return [c.__name__ for c in node_classes() if c not in SUPPORTED_NODES and c.__name__ not in NOT_IN_MODULES]


def test_every_ast_node_type_is_either_supported_or_has_an_error_snippet() -> None:
    missing = [name for name in unsupported_classes() if name not in SNIPPETS]
    assert not missing, f"ast node types with no test snippet: {missing}"
    assert len(unsupported_classes()) > 40


@pytest.mark.parametrize("name", unsupported_classes())
def test_unsupported_node_type_is_a_located_compile_error(name: str) -> None:
    source = SNIPPETS[name]
    assert any(type(node).__name__ == name for node in ast.walk(ast.parse(source))), "snippet misses the node"
    with pytest.raises(CompileError) as info:
        compile_source(source, "main.py")
    message = str(info.value)
    assert ERROR_LINE.match(message), message
    assert "\n" not in message


@pytest.mark.parametrize(("source", "expected"), [
    ("def f(x):\n    return x\n", "main.py:1:7: parameter 'x' of 'f' without an int, float, bool or str annotation"),
    ("def f(x: int):\n    return x\n", "main.py:1:1: function 'f' without a return annotation"),
    ("def f(x: list) -> int:\n    return 1\n", "main.py:1:10: type annotation 'list'"),
    ("def f(x: int) -> int:\n    if x > 0:\n        return 1\n", "can reach its end without returning a int"),
    ("def f(x: int) -> int:\n    y = 1.5\n    y = x\n    return x\n",
     "main.py:3:5: variable 'y' is float at line 2 but is assigned a int here"),
    ("def f(x: int) -> int:\n    if x > 0:\n        y = 1\n    return y\n",
     "main.py:4:12: variable 'y' may be used before it is assigned"),
    ("def f(x: int) -> float:\n    return x\n", "main.py:2:12: returning a int from 'f' -> float"),
    ("def f(x: float) -> int:\n    return f(1)\n",
     "main.py:2:14: argument 'x' of f() is a int, the parameter is float"),
    ("def f(x: str) -> str:\n    return x + x\n",
     "operator '+' between a str and a str (supported instead: print(a, b, sep=''))"),
    ("def f(x: float) -> float:\n    return x % 2.0\n", "operator '%' with a float operand"),
    ("def f() -> int:\n    return 9223372036854775808\n", "int literal 9223372036854775808 beyond 64 bits"),
    ("import os\n", "main.py:1:1: construct 'import os' is not supported (supported instead: import math)"),
    ("print('x')\n", "main.py:1:1: construct Expr at module level is not supported"),
    ("def f(x: int) -> int:\n    for c in 'abc':\n        pass\n    return x\n", "for loop over ''abc''"),
    ("def f(x: int) -> int:\n    return g(x)\n", "main.py:2:12: call of 'g'"),
    ("def f(x: int) -> int:\n    return undefined\n", "main.py:2:12: undefined name 'undefined'"),
    ("def f(x: int) -> int\n    return x\n", "main.py:1:21: syntax error"),
    ("X = 2 ** 64\n", "main.py:1:5: constant 18446744073709551616 beyond 64 bits"),
])
def test_errors_name_the_place_the_construct_and_the_alternative(source: str, expected: str) -> None:
    with pytest.raises(CompileError) as info:
        compile_source(source, "main.py")
    message = str(info.value)
    assert expected in message
    assert ERROR_LINE.match(message), message


def test_cli_reports_a_compile_error_in_one_line_exit_1(cli, make_project: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    # the typed compiler's errors (a main.py is whole Python by default, which has no such limits)
    project = make_project({"main.py": "def main() -> None:\n    xs = [1, 2]\n", "wasmrun.toml": TYPED})
    result = cli("compile", project)
    assert result.exit_code == 1
    assert "main.py:2:10: construct list is not supported (supported instead:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_compile_project_raises_build_error(make_project: Callable[..., Path]) -> None:
    from wasmrun.errors import BuildError

    project = make_project({"main.py": "class A:\n    pass\n", "wasmrun.toml": TYPED})
    with pytest.raises(BuildError, match=r"^main\.py:1:1: construct 'class' is not supported"):
        compile_project(project, load_plugins(entry_points=False))
