"""The agent's Python ``packages`` installer: hostile specs never reach pip; real pure-Python
wheels from PyPI are installed into a read-only cache; native code, oversize and slow installs
are refused."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import AgentRuntimes
from wasmrun.agent import packages
from wasmrun.agent.errors import BadRequest

NAME_OR_PIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(==[A-Za-z0-9][A-Za-z0-9.+!_-]*)?")

HOSTILE = [
    "--index-url=https://evil.example/simple", "-i https://evil.example", "--extra-index-url", "-r req.txt",
    "-rreq.txt", "-e .", "git+https://github.com/x/y", "https://evil.example/x.whl", "file:///etc/passwd",
    "../x", "./x", "/abs/path", "x/../../y", "pkg; os_name==\"nt\"", "pkg[extra]", "pkg>=1", "pkg~=1.0",
    "pkg==1.0; python_version<'4'", "pkg @ https://evil.example/x.whl", "pkg==..", "pkg==../../x", "pkg==",
    "pkg==1.0 --no-deps", "pkg\n--index-url=x", "pkg\n", " pkg", "pkg ", "", "==1.0", "pkg===1.0",
    "pkg==1.0==2.0", "-", ".", "..", "pkg,other", "pkg\x00", "pkg==1/2", "pkg==1\\2", "ｐｋｇ", "x" * 200,
]


@pytest.fixture
def no_pip(no_processes: list[object]) -> list[object]:
    """No process may start in the test (the hostile cases must never reach pip)."""
    return no_processes


@pytest.mark.parametrize("spec", HOSTILE)
def test_a_hostile_spec_is_refused_by_name_before_pip_runs(spec: str, tmp_path: Path, no_pip: list[object]) -> None:
    with pytest.raises(BadRequest) as refused:
        packages.install(["six", spec], tmp_path)
    assert refused.value.status == 400
    assert repr(spec[:packages.MAX_SPEC_CHARS]) in refused.value.message
    assert no_pip == [] and list(tmp_path.iterdir()) == []


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60) | st.from_regex(r"[A-Za-z0-9._=+!@:/\\ \[\];<>~-]{0,30}", fullmatch=True))
def test_anything_but_name_or_name_pinned_is_refused_without_running_pip(spec: str) -> None:
    if NAME_OR_PIN.fullmatch(spec):
        assert packages.parse(spec)[0] == packages.normalise(spec.split("==")[0])
        return
    with pytest.raises(BadRequest):
        packages.parse(spec)


def test_a_non_list_spec_and_too_many_packages_are_refused(tmp_path: Path, no_pip: list[object]) -> None:
    with pytest.raises(BadRequest, match="refused"):
        packages.install([123], tmp_path)  # type: ignore[list-item]
    with pytest.raises(BadRequest, match="at most"):
        packages.install([f"p{i}" for i in range(packages.MAX_PACKAGES + 1)], tmp_path)


def test_names_are_normalised_like_pip() -> None:
    assert packages.parse("Foo.Bar_baz==1.0") == ("foo-bar-baz", "1.0")
    assert packages.parse("six") == ("six", None)


def test_a_pure_python_wheel_is_installed_read_only_and_then_comes_from_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "packages"
    paths = packages.install(["six==1.16.0", "tabulate"], cache)
    assert paths[0] == "/.packages/six/1.16.0"
    assert re.fullmatch(r"/\.packages/tabulate/[0-9.]+", paths[1])
    six = cache / "six" / "1.16.0" / "six.py"
    assert "__version__ = \"1.16.0\"" in six.read_text()
    assert six.stat().st_mode & 0o222 == 0 and six.parent.stat().st_mode & 0o222 == 0
    assert packages.native_files(cache) == []
    assert [p.name for p in cache.iterdir() if p.name.startswith(".") and p.name != ".locks"] == []  # no scratch
    # the second time, nothing runs: the cache answers, an unpinned name takes the version there
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("pip ran for a cached package"))
        assert packages.install(["six==1.16.0", "Tabulate"], cache) == paths


def test_dependencies_are_resolved_by_pip_as_wheels_beside_the_package(tmp_path: Path) -> None:
    """python-dateutil depends on six: both land in its directory."""
    [path] = packages.install(["python-dateutil==2.9.0.post0"], tmp_path)
    directory = tmp_path / path.removeprefix("/.packages/")
    assert (directory / "dateutil" / "parser" / "__init__.py").is_file()
    assert (directory / "six.py").is_file()


def test_a_package_with_only_native_wheels_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="native code"):
        packages.install(["numpy==2.1.3"], tmp_path)
    assert not (tmp_path / "numpy").exists()


def test_a_native_file_in_an_unpacked_wheel_is_found(tmp_path: Path) -> None:
    for name in ("pkg/__init__.py", "pkg/_speedups.cpython-314-wasm32-wasi.so", "pkg/lib.so.1", "pkg/x.pyd"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert packages.native_files(tmp_path) == ["pkg/_speedups.cpython-314-wasm32-wasi.so", "pkg/lib.so.1",
                                               "pkg/x.pyd"]


def test_an_install_past_the_size_cap_is_killed_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="larger than"):
        packages.install(["tabulate==0.9.0"], tmp_path, max_bytes=2048)
    assert not (tmp_path / "tabulate").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != ".locks"] == []


def test_an_install_past_the_time_cap_is_killed(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="time cap"):
        packages.install(["tabulate==0.9.0"], tmp_path, timeout_s=0.05)
    assert not (tmp_path / "tabulate").exists()


def test_an_unknown_package_is_a_clear_refusal(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="no pure-Python wheel"):
        packages.install(["wasmrun-no-such-package-4a1f"], tmp_path)


def test_concurrent_installs_of_one_package_install_it_once(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: packages.install(["six==1.15.0"], tmp_path), range(4)))
    assert results == [["/.packages/six/1.15.0"]] * 4
    assert [p.name for p in (tmp_path / "six").iterdir()] == ["1.15.0"]


# -- imported by the sandbox's Python ---------------------------------------------------------------

def test_an_installed_package_is_imported_by_the_sandboxs_python_read_only(
        tmp_path_factory: pytest.TempPathFactory, agent_runtimes: AgentRuntimes, python_runtime: Path) -> None:
    """The real Python runtime in a real worker process, the cache preopened read-only at
    ``/.packages`` and the returned paths on ``sys.path``, as the sandbox runs an exec."""
    import asyncio

    from wasmrun.agent.models import Limits
    from wasmrun.agent.workers import WorkerPool

    base = tmp_path_factory.mktemp("agent-packages")
    cache, root = base / "packages", base / "session"
    root.mkdir()
    paths = packages.install(["tabulate==0.9.0"], cache)
    code = """
import tabulate
print(tabulate.__version__, tabulate.__file__)
print(tabulate.tabulate([[1, 2]], headers=["a", "b"], tablefmt="plain"))
try:
    open(tabulate.__file__, "a").write("# changed")
except OSError as exc:
    print("refused:", type(exc).__name__)
"""

    async def scenario() -> dict[str, object]:
        pool = WorkerPool(1)
        await pool.start()
        try:
            await pool.load("python", str(python_runtime), str(agent_runtimes.cache / "agent" / "compiled"))
            message = {"session": "s", "language": "python", "root": str(root), "packages": str(cache),
                       "has_state": False, "fresh": False, "limits": Limits().model_dump(),
                       "request": {"code": code, "filename": "<exec>", "stdin": "", "args": [], "env": {},
                                   "paths": paths}}
            return await pool.exec(0, message, 60.0, None)
        finally:
            await pool.stop(1.0)

    reply = asyncio.run(scenario())
    assert reply["exit_code"] == 0, reply
    assert reply["stdout"] == ("0.9.0 /.packages/tabulate/0.9.0/tabulate/__init__.py\n"
                               "  a    b\n  1    2\nrefused: PermissionError\n")
    assert "# changed" not in (cache / "tabulate" / "0.9.0" / "tabulate" / "__init__.py").read_text()
