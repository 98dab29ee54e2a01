"""Whole Python as components: real componentize-py builds (installed by wasmrun's first-use install),
run with ``wasmrun exec`` and compared with CPython.

Builds cost 10 to 100 s and 400 MB each, so there are three, shared by module-scoped fixtures: a
corpus of programs in ONE component that picks the program by its first argument (with a
pure-Python dependency from a local wheel), the ``init`` command template, and the ``init``
library template (a WIT world).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wasmrun import component_tools
from wasmrun.errors import BuildError
from wasmrun.languages.python import dependencies
from wasmrun.languages.python.imports import find_modules, imported_names
from wasmrun.testing import require_tool

MakeProject = Callable[..., Path]

# -- the corpus: each program runs unchanged under CPython and in the component -----------------

CORPUS = {
    "classes": '''
class Shape:
    sides = 0

    def __init__(self, name):
        self.name = name

    def describe(self):
        return f"{self.name} has {self.sides} sides"

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"


class Square(Shape):
    sides = 4

    @property
    def area_of_unit(self):
        return 1

    def describe(self):
        return super().describe() + " and right angles"


shapes = [Shape("blob"), Square("box")]
for shape in shapes:
    print(repr(shape), shape.describe(), isinstance(shape, Square))
print(sorted(s.name for s in shapes), Square("x").area_of_unit)
''',
    "dataclasses_": '''
from dataclasses import dataclass, field, asdict


@dataclass(order=True)
class Item:
    price: float
    name: str = field(compare=False)
    tags: list = field(default_factory=list, compare=False)


items = sorted([Item(3.5, "tea"), Item(1.25, "bun", ["warm"]), Item(2.0, "jam")])
print([i.name for i in items])
print(asdict(items[0]))
print(Item(1.0, "a") == Item(1.0, "b"))
''',
    "comprehensions": '''
squares = [n * n for n in range(10) if n % 2]
table = {n: chr(ord("a") + n) for n in range(5)}
unique = {w.lower() for w in "The the THE cat Cat".split()}
nested = [(x, y) for x in range(3) for y in range(x)]
print(squares, table, sorted(unique), nested, sum(n for n in range(101)))
''',
    "generators": '''
def fib():
    a, b = 0, 1
    while True:
        yield a
        a, b = b, a + b


def take(n, it):
    for _ in range(n):
        yield next(it)


def chain(*its):
    for it in its:
        yield from it


def averager():
    total, count, avg = 0.0, 0, None
    while True:
        value = yield avg
        total += value
        count += 1
        avg = total / count


print(list(take(12, fib())), list(chain("ab", [1, 2])))
acc = averager()
next(acc)
print([acc.send(v) for v in (10, 20, 60)])
''',
    "closures": '''
import functools


def counter():
    count = 0

    def bump(step=1):
        nonlocal count
        count += step
        return count
    return bump


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        print(f"call {fn.__name__}{args}")
        return fn(*args)
    return wrapper


@logged
def add(a, b):
    return a + b


c = counter()
print(c(), c(), c(10), add(2, 3), add.__name__)
adders = [lambda x, n=n: x + n for n in range(3)]
print([f(10) for f in adders])
''',
    "exceptions": '''
class AppError(Exception):
    pass


def risky(n):
    if n > 2:
        raise AppError(f"too big: {n}")
    return n


for n in range(5):
    try:
        print("ok", risky(n))
    except AppError as exc:
        print("caught", exc)
    finally:
        print("done", n)
try:
    try:
        {}["k"]
    except KeyError as exc:
        raise ValueError("wrapped") from exc
except ValueError as exc:
    print(type(exc.__cause__).__name__, exc)
data = {"present": 1}
print(data["missing"])
''',
    "fstrings": '''
import math
name, value = "pi", math.pi
print(f"{name:>6}|{value:.3f}|{value:10.2e}|{42:08b}|{255:#x}|{1234567:,}|{0.25:.1%}")
print(f"{'centre':^12}|{name!r}|{value=:.2f}")
print("%s=%05.1f" % (name, value), "{0}-{0}".format("x"))
''',
    "json_": '''
import json
doc = json.loads('{"b": [1, 2, {"c": null}], "a": "\\\\u00e9t\\\\u00e9", "d": 1.5e3}')
print(doc["a"], doc["b"][2], doc["d"])
print(json.dumps(doc, sort_keys=True))
print(json.dumps({"x": [1, 2]}, indent=2))
''',
    "re_": '''
import re
text = "2024-01-05 alice@example.com, 2023-12-31 bob@test.org"
print(re.findall(r"(\\\\d{4})-(\\\\d\\\\d)-(\\\\d\\\\d)", text))
print(re.sub(r"(\\\\w+)@(\\\\w+)", r"\\\\2 at \\\\1", text))
m = re.search(r"(?P<user>\\\\w+)@(?P<host>[\\\\w.]+)", text)
print(m.group("user"), m.group("host"), m.span())
print(re.split(r"[,\\\\s]+", text))
''',
    "itertools_": '''
import itertools
import operator
words = ["apple", "avocado", "banana", "blueberry", "cherry"]
print([(k, list(g)) for k, g in itertools.groupby(words, key=lambda w: w[0])])
print(list(itertools.permutations("abc", 2)))
print(list(itertools.accumulate([1, 2, 3, 4], operator.mul)))
print(list(itertools.islice(itertools.cycle("xy"), 5)), list(itertools.product([0, 1], repeat=2)))
''',
    "argv": '''
import sys
print(len(sys.argv) - 1, sys.argv[1:])
''',
    "stdin": '''
import sys
numbers = [int(line) for line in sys.stdin if line.strip()]
print("count", len(numbers), "sum", sum(numbers))
''',
    "exit_code": '''
import sys
print("leaving")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 42)
''',
    "exit_message": '''
import sys
sys.exit("fatal: nothing to do")
''',
    "lazy_imports": '''
def wrap(text):
    import textwrap
    return textwrap.fill(text, width=20)


def count(text):
    from collections import Counter
    return Counter(text.split()).most_common(2)


print(wrap("the quick brown fox jumps over the lazy dog " * 2))
print(count("a b a c b a"))
''',
    "zero_division": '''
def ratio(a, b):
    return a / b


print(ratio(1, 2))
print(ratio(1, 0))
''',
}

#: Not differential: they need what only one side has (the dependency, a granted directory).
EXTRA_PROGRAMS = {
    "with_dependency": '''
import sys


def main():
    from tinyfmt import boxed
    print(boxed(" ".join(sys.argv[1:]) or "empty"))


main()
''',
    "files": '''
import os
import sys
source, target = sys.argv[1], sys.argv[2]
with open(source, encoding="utf-8") as f:
    lines = f.read().splitlines()
with open(target, "w", encoding="utf-8") as f:
    f.write("\\n".join(reversed(lines)) + "\\n")
print("reversed", len(lines), "lines", os.path.exists(target), os.environ.get("GREETING", "-"))
''',
}

RUNNER = '''"""Runs corpus/NAME.py as the program: `main.py NAME ARGS...` (one component, many programs)."""
import importlib
import sys

name = sys.argv.pop(1)
importlib.import_module(f"corpus.{name}")
'''

TINYFMT = 'def boxed(text):\n    bar = "+" + "-" * (len(text) + 2) + "+"\n    return f"{bar}\\n| {text} |\\n{bar}"\n'


def make_wheel(directory: Path, name: str, files: dict[str, bytes], *, pure: bool = True) -> Path:
    """A wheel written by hand, so that installing it needs no package index."""
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    contents = {**files,
                f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode(),
                f"{info}/WHEEL": (f"Wheel-Version: 1.0\nGenerator: wasmrun-tests\nRoot-Is-Purelib: "
                                  f"{'true' if pure else 'false'}\nTag: py3-none-any\n").encode()}
    record = "".join(f"{path},,\n" for path in [*contents, f"{info}/RECORD"])
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
        archive.writestr(f"{info}/RECORD", record)
    return wheel


# -- fixtures: one shared tools directory and one home for the module's builds ------------------

@pytest.fixture(scope="module")
def shared_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """WASMRUN_HOME and WASMRUN_TOOLS_DIR for the module's builds and runs: componentize-py and
    the WASI WIT packages are installed once, by wasmrun's own first-use install."""
    if sys.platform != "linux":
        pytest.skip("componentize-py's wheels are tested on Linux")
    if os.environ.get("WASMRUN_TOOLS_DIR"):
        tools = Path(os.environ["WASMRUN_TOOLS_DIR"])
    else:
        tools = tmp_path_factory.getbasetemp() / "component-tools"
    home = tmp_path_factory.mktemp("python-components-home")
    env = {"WASMRUN_HOME": str(home), component_tools.TOOLS_DIR_VARIABLE: str(tools)}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        if __import__("shutil").which("npm") is None:
            require_tool("npm")
        component_tools.ensure(component_tools.COMPONENTIZE_PY)
        component_tools.wasi_wit_packages()
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def wasmrun(env: dict[str, str], *args: str | Path, stdin: str = "", cwd: Path | None = None,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wasmrun", *map(str, args)], input=stdin, capture_output=True,
                          text=True, check=False, cwd=cwd, env={**os.environ, **env, **(extra_env or {})},
                          timeout=900)


@pytest.fixture(scope="module")
def corpus(shared_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The corpus project and its component, built once through the CLI (cache off)."""
    project = tmp_path_factory.mktemp("corpus-project")
    (project / "corpus").mkdir()
    (project / "corpus" / "__init__.py").write_text("", encoding="utf-8")
    for name, source in {**CORPUS, **EXTRA_PROGRAMS}.items():
        (project / "corpus" / f"{name}.py").write_text(source.lstrip(), encoding="utf-8")
    (project / "main.py").write_text(RUNNER, encoding="utf-8")
    modules = ", ".join(f'"corpus.{name}"' for name in {**CORPUS, **EXTRA_PROGRAMS})
    (project / "wasmrun.toml").write_text(f"python_modules = [{modules}]\n", encoding="utf-8")
    make_wheel(project / "wheels", "tinyfmt", {"tinyfmt/__init__.py": TINYFMT.encode()})
    (project / "requirements.txt").write_text("./wheels/tinyfmt-1.0-py3-none-any.whl\n", encoding="utf-8")
    proc = wasmrun(shared_env, "compile", "--no-cache", "--json", project)
    assert proc.returncode == 0, proc.stderr
    import json

    result = json.loads(proc.stdout)
    assert result["glue"] == "component" and result["toolchain"].startswith("componentize-py 0.25.1")
    return project, Path(result["wasm_path"])


# -- the differential test ----------------------------------------------------------------------

DIFFERENTIAL = [(name, [], "") for name in CORPUS if name not in ("argv", "stdin", "exit_code")] + [
    ("argv", ["one", "two words", "--flag"], ""),
    ("stdin", [], "1\n2\n39\n"),
    ("exit_code", [], ""),
    ("exit_code", ["7"], ""),
    ("exit_code", ["0"], ""),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "args", "stdin"), DIFFERENTIAL,
                         ids=[f"{n}-{'-'.join(a)}" for n, a, _ in DIFFERENTIAL])
def test_component_behaves_as_cpython(corpus: tuple[Path, Path], shared_env: dict[str, str], name: str,
                                      args: list[str], stdin: str) -> None:
    project, wasm = corpus
    expected = subprocess.run([sys.executable, f"corpus/{name}.py", *args], input=stdin, capture_output=True,
                              text=True, check=False, cwd=project, env={"PATH": os.environ.get("PATH", "")})
    got = wasmrun(shared_env, "exec", wasm, name, *args, stdin=stdin)
    # exit code and stderr in the message: a stdin case once printed nothing, and why was lost
    assert got.stdout == expected.stdout, (got.returncode, got.stderr[-2000:])
    assert got.returncode == expected.returncode
    last = (expected.stderr.strip().splitlines() or [""])[-1]
    assert (got.stderr.strip().splitlines() or [""])[-1] == last


@pytest.mark.slow
def test_uncaught_exception_prints_the_programs_traceback(corpus: tuple[Path, Path],
                                                          shared_env: dict[str, str]) -> None:
    _, wasm = corpus
    got = wasmrun(shared_env, "exec", wasm, "zero_division")
    assert got.returncode == 1
    assert got.stdout == "0.5\n"
    lines = got.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert 'File "corpus/zero_division.py", line 6, in <module>' in got.stderr
    assert 'File "corpus/zero_division.py", line 2, in ratio' in got.stderr
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert "wasmrun_app" not in got.stderr  # the runner's own frame is not shown


@pytest.mark.slow
def test_pure_python_dependency_is_bundled(corpus: tuple[Path, Path], shared_env: dict[str, str]) -> None:
    _, wasm = corpus
    got = wasmrun(shared_env, "exec", wasm, "with_dependency", "hi", "there")
    assert (got.returncode, got.stdout) == (0, "+----------+\n| hi there |\n+----------+\n"), got.stderr


@pytest.mark.slow
def test_files_in_a_granted_directory_and_environment(corpus: tuple[Path, Path], shared_env: dict[str, str],
                                                      tmp_path: Path) -> None:
    _, wasm = corpus
    (tmp_path / "in.txt").write_text("first\nsecond\nthird\n", encoding="utf-8")
    got = wasmrun(shared_env, "exec", "--dir", f"{tmp_path}::/data", "--env", "GREETING=hi", wasm,
                  "files", "/data/in.txt", "/data/out.txt")
    assert (got.returncode, got.stdout) == (0, "reversed 3 lines True hi\n"), got.stderr
    assert (tmp_path / "out.txt").read_text(encoding="utf-8") == "third\nsecond\nfirst\n"
    denied = wasmrun(shared_env, "exec", wasm, "files", str(tmp_path / "in.txt"), str(tmp_path / "x.txt"))
    assert denied.returncode == 1 and denied.stderr.splitlines()[-1].startswith("FileNotFoundError")
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.slow
def test_second_build_is_a_cache_hit(corpus: tuple[Path, Path], shared_env: dict[str, str]) -> None:
    project, _ = corpus
    import json

    first = wasmrun(shared_env, "compile", "--json", project)  # stores it (the fixture built with --no-cache)
    again = wasmrun(shared_env, "compile", "--json", project)
    assert first.returncode == 0 and again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["cached"] is True


# -- in Chromium: the same component on wasmrun's page (jco's transpile bundled with the shim) -----

BROWSER_CASES = [
    ("exit_code", ["7"], ""),
    ("stdin", [], "1\n2\n39\n"),
    ("argv", ["one", "two words"], ""),
    ("zero_division", [], ""),
]


@pytest.mark.slow
@pytest.mark.toolchain("chromium")
@pytest.mark.parametrize(("name", "args", "stdin"), BROWSER_CASES, ids=[n for n, _, _ in BROWSER_CASES])
def test_the_component_runs_in_chromium_as_under_cpython(corpus: tuple[Path, Path], shared_env: dict[str, str],
                                                         name: str, args: list[str], stdin: str) -> None:
    """``run --headless`` of the whole-Python component: output, standard input, argv, the exit
    code of ``sys.exit(7)`` and an uncaught exception's last line, as CPython gives them."""
    import importlib.util
    import shutil

    require_tool("playwright", found=importlib.util.find_spec("playwright") is not None)
    require_tool("chromium", found=shutil.which("chromium") is not None)
    require_tool("node")
    # the page's tools installed first: their one-time "installing ..." line on stderr is not the
    # program's, and which case ran first decided which one printed it
    component_tools.ensure(component_tools.JCO_TRANSPILE)
    component_tools.ensure(component_tools.ESBUILD)
    project, wasm = corpus
    expected = subprocess.run([sys.executable, f"corpus/{name}.py", *args], input=stdin, capture_output=True,
                              text=True, check=False, cwd=project, env={"PATH": os.environ.get("PATH", "")})
    got = wasmrun(shared_env, "run", "--headless", wasm, "--", name, *args, stdin=stdin)
    assert got.stdout == expected.stdout, (got.returncode, got.stderr[-2000:])
    assert got.returncode == expected.returncode
    assert (got.stderr.strip().splitlines() or [""])[-1] == (expected.stderr.strip().splitlines() or [""])[-1]


# -- templates: a command and a WIT library -------------------------------------------------------

@pytest.mark.slow
def test_init_command_template_runs_with_its_arguments(shared_env: dict[str, str], tmp_path: Path) -> None:
    project = tmp_path / "greeter"
    made = wasmrun(shared_env, "init", "python", project)
    assert made.returncode == 0, made.stderr
    detected = wasmrun(shared_env, "compile", "-v", "--no-cache", project)
    assert detected.returncode == 0, detected.stderr
    assert "python route: componentize-py (a program" in detected.stderr
    got = wasmrun(shared_env, "exec", project, "Ada")
    assert (got.returncode, got.stdout) == (0, "hello, Ada, from Python\n"), got.stderr


@pytest.mark.slow
def test_init_library_template_exports_its_world(shared_env: dict[str, str], tmp_path: Path) -> None:
    project = tmp_path / "pylib"
    made = wasmrun(shared_env, "init", "python", "--flavour", "library", project)
    assert made.returncode == 0, made.stderr
    import json

    built = wasmrun(shared_env, "compile", "--json", project)
    assert built.returncode == 0, built.stderr
    wasm = Path(json.loads(built.stdout)["wasm_path"])
    import wasmtime
    from wasmtime.component import Component, Linker

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    linker = Linker(engine)
    linker.add_wasip2()
    store.set_wasi(wasmtime.WasiConfig())
    instance = linker.instantiate(store, Component.from_file(engine, str(wasm)))
    results = []
    for name, args in (("add", (40, 2)), ("greet", ("Ada",))):
        func = instance.get_func(store, name)
        assert func is not None, name
        results.append(func(store, *args))
        func.post_return(store)
    assert results == [42, "hello, Ada"]
    invoked = wasmrun(shared_env, "exec", "--invoke", 'greet("Ada")', wasm)
    assert (invoked.returncode, invoked.stdout) == (0, '"hello, Ada"\n'), invoked.stderr


# -- refusals: one line, before any build --------------------------------------------------------

def test_native_dependency_is_refused_naming_it(cli, make_project: MakeProject,  # type: ignore[no-untyped-def]
                                                tmp_path: Path) -> None:
    project = make_project({"main.py": "import fastnative\nprint(fastnative.go())\n"})
    make_wheel(project / "wheels", "fastnative", {"fastnative/__init__.py": b"def go():\n    return 1\n",
                                                  "fastnative/_speed.so": b"\x7fELF not really"}, pure=False)
    (project / "requirements.txt").write_text("./wheels/fastnative-1.0-py3-none-any.whl\n", encoding="utf-8")
    result = cli("compile", project)
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: dependency 'fastnative' has native code (it ships fastnative/_speed.so): "
                      "a whole-Python component bundles only pure-Python packages"]
    assert "Traceback" not in result.stderr


def test_syntax_error_in_a_local_module_is_one_line(cli, make_project: MakeProject) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"main.py": "import helper\nhelper.go()\n", "helper.py": "def go(:\n    pass\n"})
    result = cli("compile", project)
    assert result.exit_code == 1
    assert "error: helper.py:1:8: invalid syntax" in result.stderr
    assert "Traceback" not in result.stderr


# -- finding the modules a program imports ------------------------------------------------------

def test_imports_anywhere_are_found_and_local_modules_followed(make_project: MakeProject) -> None:
    project = make_project({
        "main.py": "import helpers.text\n\ndef f():\n    import json\n    try:\n        import tomllib\n"
                   "    except ImportError:\n        pass\n\nclass A:\n    def m(self):\n"
                   "        from collections import OrderedDict as O\n",
        "helpers/__init__.py": "from . import util\n",
        "helpers/util.py": "from .text import shout\nimport itertools\n",
        "helpers/text.py": "def shout(s):\n    import re\n    return s.upper()\n",
    })
    found = find_modules(project, project / "main.py")
    assert sorted(found.local) == ["helpers", "helpers.text", "helpers.util"]
    assert {"json", "tomllib", "collections", "collections.OrderedDict", "itertools", "re"} <= found.external
    assert not any(name.startswith("helpers") for name in found.external)
    computed = find_modules(project, project / "main.py", ["plugins_by_name", "helpers.text"])
    assert "plugins_by_name" in computed.external
    only_extra = find_modules(project, project / "helpers" / "text.py", ["helpers.util"])
    assert sorted(only_extra.local) == ["helpers", "helpers.text", "helpers.util"]


DOTTED = st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=4).map(".".join)


@given(st.lists(DOTTED, min_size=1, max_size=6), st.integers(0, 3))
def test_every_import_statement_is_seen_at_any_depth(names: list[str], depth: int) -> None:
    import keyword

    names = [n for n in names if not any(keyword.iskeyword(part) for part in n.split("."))]
    indent = ""
    lines = []
    for level in range(depth):
        lines.append(f"{indent}def f{level}():")
        indent += "    "
    lines += [f"{indent}import {name}" for name in names] + [f"{indent}pass"]
    import ast

    found = imported_names(ast.parse("\n".join(lines) + "\n"))
    for name in names:
        parts = name.split(".")
        assert {".".join(parts[:i]) for i in range(1, len(parts) + 1)} <= found


@given(st.text(max_size=200))
def test_hostile_sources_never_blow_up(source: str) -> None:
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    assert isinstance(imported_names(tree, "pkg.sub"), set)


def test_relative_imports_beyond_the_top_are_left_to_run_time() -> None:
    import ast

    assert imported_names(ast.parse("from .... import x\nfrom . import y\n"), "pkg") == {"pkg", "pkg.y"}


def test_requirements_come_from_pyproject_else_requirements_txt(make_project: MakeProject) -> None:
    both = make_project({"pyproject.toml": '[project]\nname = "a"\ndependencies = ["tabulate>=0.9"]\n',
                         "requirements.txt": "other\n"}, name="both")
    assert dependencies.requirements(both) == ["tabulate>=0.9"]
    reqs = make_project({"requirements.txt": "# comment\nfoo==1  # pinned\n\nbar\n"}, name="reqs")
    assert dependencies.requirements(reqs) == ["foo==1", "bar"]


def test_refuse_native_names_the_distribution(tmp_path: Path) -> None:
    info = tmp_path / "quick-2.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text("quick/__init__.py,,\nquick/_c.cpython-311-x86_64-linux-gnu.so,,\n")
    with pytest.raises(BuildError, match=r"^dependency 'quick' has native code \(it ships quick/_c"):
        dependencies.refuse_native(tmp_path)


def test_ci_warms_the_pinned_componentize_py() -> None:
    """scripts/toolchains/python.sh downloads the componentize-py version wasmrun pins."""
    script = (Path(__file__).resolve().parents[1] / "scripts" / "toolchains" / "python.sh").read_text()
    assert component_tools.COMPONENTIZE_PY.spec in script


@pytest.mark.slow
def test_a_pyproject_script_entry_with_its_package_under_src(shared_env: dict[str, str], tmp_path: Path) -> None:
    """A project whose only Python is a package under ``src/`` named by ``[project.scripts]`` is
    claimed and built; the entry function's return value is the exit status, as pip's launcher
    gives it."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "greeter"\nversion = "0.1.0"\n\n'
                                             '[project.scripts]\ngreet = "greeter.cli:main"\n', encoding="utf-8")
    package = tmp_path / "src" / "greeter"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "cli.py").write_text("import sys\n\n\ndef main() -> int:\n    print('hello', *sys.argv[1:])\n"
                                    "    return 3\n", encoding="utf-8")
    built = wasmrun(shared_env, "compile", "--json", tmp_path)
    assert built.returncode == 0, built.stderr
    import json

    wasm = json.loads(built.stdout)["wasm_path"]
    got = wasmrun(shared_env, "exec", wasm, "a", "b")
    assert (got.returncode, got.stdout) == (3, "hello a b\n"), got.stderr
