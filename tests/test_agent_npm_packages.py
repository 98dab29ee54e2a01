"""The agent's npm ``packages`` installer: hostile specs never reach npm; real packages from the
npm registry are installed without their install scripts, bundled by the pinned esbuild into one
CommonJS file and cached read-only; native addons, unbundlable, unknown, oversize and slow
installs are refused and leave nothing behind. (Using them from a JavaScript or TypeScript exec
is tested in test_agent_javascript.py and test_agent_api.py.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wasmrun import component_tools
from wasmrun.agent import npm_packages
from wasmrun.agent.errors import BadRequest
from wasmrun.testing import require_tool

GRAMMAR = re.compile(r"(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*"
                     r"(@\d{1,9}(\.\d{1,9}(\.\d{1,9}(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?)?)?")

HOSTILE = [
    "git+https://github.com/x/y", "git://github.com/x/y", "github:x/y", "x/y", "gitlab:x/y",
    "https://evil.example/x.tgz", "http://evil.example/x", "file:../x", "file:///etc/passwd", "../x", "./x",
    "/abs/path", "~/x", "x.tgz", "x.tar", "x.tar.gz", "@s/x.tgz", "npm:lodash@4.17.21", "alias@npm:lodash",
    "lodash@latest", "lodash@next", "lodash@^4.0.0", "lodash@~4.1.0", "lodash@>=1", "lodash@1.x", "lodash@*",
    "lodash@1 || 2", "lodash@1.2.3 - 2", "lodash@1.2.3+build", "lodash@v4", "lodash@", "@lodash",
    "--registry=https://evil.example", "-g", "lodash --registry=x", "lodash\n--registry=x", "lodash\n",
    " lodash", "lodash ", "", "@scope", "@scope/", "@/x", "@scope/x/y", "@scope//x", "Lodash", "LODASH",
    "lodash@4.17.21@1", ".bin", "_x", "-x", "x\x00", "ｌｏｄａｓｈ", "x;rm -rf /", "$(touch x)", "`x`", "x" * 300,
    "lodash@4.17.21 ms",
]


@pytest.fixture
def no_npm(no_processes: list[object]) -> list[object]:
    """No process may start in the test (the hostile cases must never reach npm)."""
    return no_processes


@pytest.mark.parametrize("spec", HOSTILE)
def test_a_hostile_spec_is_refused_by_name_before_npm_runs(spec: str, tmp_path: Path, no_npm: list[object]) -> None:
    with pytest.raises(BadRequest) as refused:
        npm_packages.install(["ms", spec], tmp_path)
    assert refused.value.status == 400
    assert "is refused" in refused.value.message
    assert no_npm == [] and list(tmp_path.iterdir()) == []


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60) | st.from_regex(r"[A-Za-z0-9._@:/\\ ^~<>=*|+#!-]{0,30}", fullmatch=True))
def test_anything_but_a_plain_name_and_version_is_refused(spec: str) -> None:
    """Whatever the text, parse accepts only the grammar (no character npm could read as a URL,
    path, tag, range, alias or option) and says no to the rest with a BadRequest."""
    try:
        name, version = npm_packages.parse(spec)
    except BadRequest:
        assert not GRAMMAR.fullmatch(spec) or spec.endswith(npm_packages.TARBALL_SUFFIXES) \
            or len(spec) > npm_packages.MAX_NAME_CHARS
        return
    assert GRAMMAR.fullmatch(spec) and not name.endswith(npm_packages.TARBALL_SUFFIXES)
    assert spec == (f"{name}@{version}" if version else name)


def test_plain_names_scopes_and_versions_are_accepted() -> None:
    assert npm_packages.parse("ms") == ("ms", None)
    assert npm_packages.parse("@types/node@20.1.0") == ("@types/node", "20.1.0")
    assert npm_packages.parse("nanoid@5") == ("nanoid", "5")
    assert npm_packages.parse("lodash.chunk@4.2.0") == ("lodash.chunk", "4.2.0")
    assert npm_packages.parse("x@1.0.0-beta.2") == ("x", "1.0.0-beta.2")


def test_the_cache_answers_exact_versions_majors_and_bare_names(tmp_path: Path) -> None:
    for version in ("4.9.0", "5.0.9", "5.1.0", "5.10.2", "6.0.0-beta.1"):
        (tmp_path / "x" / version).mkdir(parents=True)
    assert npm_packages.installed(tmp_path, "x", "5.0.9") == tmp_path / "x" / "5.0.9"
    assert npm_packages.installed(tmp_path, "x", "6.0.0-beta.1") == tmp_path / "x" / "6.0.0-beta.1"
    assert npm_packages.installed(tmp_path, "x", "5") == tmp_path / "x" / "5.10.2"
    assert npm_packages.installed(tmp_path, "x", "5.1") == tmp_path / "x" / "5.1.0"
    for missing in ("6", "5.2", "5.0.8", "4.9.0-rc.1"):
        assert npm_packages.installed(tmp_path, "x", missing) is None, missing
    os.utime(tmp_path / "x" / "4.9.0", (2e9, 2e9))
    assert npm_packages.installed(tmp_path, "x", None) == tmp_path / "x" / "4.9.0"
    assert npm_packages.installed(tmp_path, "y", None) is None


def test_too_many_packages_are_refused(tmp_path: Path, no_npm: list[object]) -> None:
    with pytest.raises(BadRequest, match="at most 16"):
        npm_packages.install([f"p{i}" for i in range(17)], tmp_path)


# --- real installs from the npm registry ---------------------------------------------------------

@pytest.fixture(scope="module")
def shared_tools(tmp_path_factory: pytest.TempPathFactory, install_component_tools: Callable[..., Path]) -> Path:
    require_tool("node")
    require_tool("npm")
    return install_component_tools(tmp_path_factory.mktemp("npm-tools"), (component_tools.ESBUILD,))


@pytest.fixture
def tools(shared_tools: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(shared_tools))
    return shared_tools


def only_locks(cache: Path) -> bool:
    """Nothing but lock files left in the npm part of the cache."""
    return all(p.name == ".locks" for p in (cache / npm_packages.SUBDIRECTORY).iterdir())


@pytest.mark.slow
def test_a_package_is_bundled_into_one_read_only_file_then_comes_from_the_cache(
        tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    assert npm_packages.install(["ms@2.1.3"], cache) == ["/.packages/.npm/ms/2.1.3"]
    home = cache / ".npm" / "ms" / "2.1.3"
    assert sorted(p.name for p in home.iterdir()) == ["index.cjs", "package.json", "subpaths.cjs"]
    assert json.loads((home / "package.json").read_text()) == {"name": "ms", "version": "2.1.3", "main": "index.cjs",
                                                               "subpaths": "subpaths.cjs"}
    assert not os.access(home / "index.cjs", os.W_OK) or os.geteuid() == 0
    assert stat.S_IMODE((home / "index.cjs").stat().st_mode) == 0o444
    assert stat.S_IMODE(home.stat().st_mode) == 0o555
    # the bundle is what Node's require gives
    node = shutil.which("node")
    assert node is not None
    out = subprocess.run([node, "-e", f"console.log(require({json.dumps(str(home / 'index.cjs'))})('2 days'))"],
                         capture_output=True, text=True, check=True).stdout
    assert out == "172800000\n"
    # from the cache now: no process runs, for the exact version, the major and the bare name
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("npm ran again"))
    assert npm_packages.install(["ms@2.1.3", "ms@2", "ms"], cache) == ["/.packages/.npm/ms/2.1.3"]


@pytest.mark.slow
def test_an_install_script_is_not_run(tools: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """es5-ext's postinstall runs ``node -e "try{require('./_postinstall')}..."``. A spy ``node``
    first on PATH logs every run: installing the package the same way with scripts allowed logs
    the postinstall (the control); wasmrun's install does not."""
    spy = tmp_path / "spy"
    spy.mkdir()
    log = tmp_path / "node-runs.log"
    real_node = shutil.which("node")
    assert real_node is not None
    (spy / "node").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real_node} "$@"\n')
    (spy / "node").chmod(0o755)
    monkeypatch.setenv("PATH", f"{spy}:{os.environ['PATH']}")
    spec = "es5-ext@0.10.64"
    control = tmp_path / "control"
    control.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(control), "NPM_CONFIG_USERCONFIG": os.devnull,
           "NPM_CONFIG_GLOBALCONFIG": npm_packages.global_config(shutil.which("npm") or "npm"),
           **{k: v for k, v in os.environ.items() if k in npm_packages.NETWORK_VARIABLES}}
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", str(control), spec],
                   cwd=control, env=env, capture_output=True, check=True, timeout=300)
    assert "_postinstall" in log.read_text()
    log.unlink()
    cache = tmp_path / "cache"
    assert npm_packages.install([spec], cache) == ["/.packages/.npm/es5-ext/0.10.64"]
    assert log.is_file()  # the spy did run (npm itself, the bundling)...
    assert "_postinstall" not in log.read_text()  # ...but never the package's script


@pytest.mark.slow
def test_an_unknown_package_and_an_unknown_version_are_one_clear_refusal(tools: Path, tmp_path: Path) -> None:
    with pytest.raises(BadRequest) as refused:
        npm_packages.install(["wasmrun-no-such-package-a8f3e1"], tmp_path)
    assert refused.value.message == ("package 'wasmrun-no-such-package-a8f3e1': no such package (or version) "
                                     "on the npm registry")
    with pytest.raises(BadRequest, match=r"^package 'ms@99\.0\.0': no such version on the npm registry$"):
        npm_packages.install(["ms@99.0.0"], tmp_path)
    assert only_locks(tmp_path)


@pytest.mark.slow
def test_a_package_with_a_native_addon_is_refused(tools: Path, tmp_path: Path) -> None:
    with pytest.raises(BadRequest) as refused:
        npm_packages.install(["bufferutil@4.0.8"], tmp_path)
    assert refused.value.message.startswith("package 'bufferutil@4.0.8' is refused: it has a native addon (")
    assert refused.value.message.endswith("which the sandbox's JavaScript cannot load")
    assert only_locks(tmp_path)


@pytest.mark.slow
def test_a_package_that_cannot_be_bundled_is_refused(tools: Path, tmp_path: Path) -> None:
    """@types/ms has type declarations only: nothing to require."""
    with pytest.raises(BadRequest) as refused:
        npm_packages.install(["@types/ms@0.7.34"], tmp_path)
    assert refused.value.message.startswith("package '@types/ms@0.7.34' is refused: it cannot be bundled for the "
                                            "sandbox: Could not resolve")
    assert only_locks(tmp_path)


@pytest.mark.slow
def test_an_install_past_the_size_or_time_cap_is_killed_and_leaves_nothing(tools: Path, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=r"^package 'lodash@4\.17\.21' is refused: it is larger than 0 MiB$"):
        npm_packages.install(["lodash@4.17.21"], tmp_path, max_bytes=64 * 1024)
    with pytest.raises(BadRequest, match=r"^package 'ms@2\.1\.3': npm did not finish within the install time cap$"):
        npm_packages.install(["ms@2.1.3"], tmp_path, timeout_s=0.05)
    assert only_locks(tmp_path)


@pytest.mark.slow
def test_concurrent_installs_of_one_package_install_it_once(tools: Path, tmp_path: Path) -> None:
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda: results.append(npm_packages.install(["ms@2.1.3"], tmp_path)))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert results == [["/.packages/.npm/ms/2.1.3"]] * 3
    assert [p.name for p in (tmp_path / ".npm" / "ms").iterdir()] == ["2.1.3"]


# --- subpaths: which a package has (no npm: packages laid out by hand) ----------------------------

def lay_out(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_without_exports_every_module_file_and_sub_package_is_a_subpath(tmp_path: Path) -> None:
    package = lay_out(tmp_path, {
        "package.json": '{"name": "p", "main": "lib/index.js"}', "lib/index.js": "", "chunk.js": "", "fp/map.js": "",
        "data.json": "{}", "esm.mjs": "", "c.cjs": "", "README.md": "", "types.d.ts": "", "sub/package.json": "{}",
        "sub/main.js": "", "node_modules/dep/index.js": "", "fp/node_modules/x/package.json": "{}",
    })
    assert npm_packages.subpaths(package) == [
        "./c.cjs", "./chunk.js", "./data.json", "./esm.mjs", "./fp/map.js", "./lib/index.js", "./package.json",
        "./sub", "./sub/main.js", "./sub/package.json"]


def test_with_exports_its_keys_are_the_subpaths_and_patterns_are_expanded(tmp_path: Path) -> None:
    exports = {
        ".": {"import": "./esm/index.js", "require": "./cjs/index.js"},
        "./non-secure": {"types": "./x.d.ts", "default": "./non-secure/index.js"},
        "./package.json": "./package.json",
        "./features/*": {"require": "./cjs/features/*.js", "import": "./esm/features/*.mjs"},
        "./features/private/*": None,
        "./legacy/": "./old/",
        "./only-browser": {"browser": "./b.js"},
        "./blocked": None,
        "types": "./index.d.ts",
    }
    package = lay_out(tmp_path, {
        "package.json": json.dumps({"name": "p", "exports": exports}), "cjs/index.js": "", "non-secure/index.js": "",
        "cjs/features/a.js": "", "cjs/features/deep/b.js": "", "cjs/features/c.txt": "", "esm/features/z.mjs": "",
        "old/x.js": "", "old/y/z.json": "", "cjs/features/node_modules/q.js": "",
    })
    assert npm_packages.subpaths(package) == [
        "./features/a", "./features/deep/b", "./legacy/x.js", "./legacy/y/z.json", "./non-secure", "./only-browser",
        "./package.json"]


@pytest.mark.parametrize("exports", ['"./index.js"', '["./a.js", "./b.js"]',
                                     '{"import": "./a.mjs", "require": "./a.js"}', '{".": "./a.js"}'])
def test_a_single_entry_exports_map_has_no_subpaths(tmp_path: Path, exports: str) -> None:
    package = lay_out(tmp_path, {"package.json": f'{{"name": "p", "exports": {exports}}}', "a.js": "", "b.js": ""})
    assert npm_packages.subpaths(package) == []


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=12))
def test_any_exports_value_gives_subpaths_inside_the_package_or_none(exports: object) -> None:
    """Whatever a package's manifest says, the subpaths are ``./``-relative names, never holding a
    ``..`` segment that a pattern could have smuggled out of the package."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        package = lay_out(Path(directory), {"package.json": json.dumps({"name": "p", "exports": exports}),
                                            "a.js": "", "d/b.js": ""})
        for subpath in npm_packages.subpaths(package):
            first, *rest = subpath.split("/")
            assert first == "." and rest and not {"", ".", ".."} & set(rest), subpath


def test_exports_keys_that_step_out_of_the_package_are_dropped(tmp_path: Path) -> None:
    exports = {"./../x": "./a.js", "./a/../b": "./a.js", "./ok": "./a.js", ".//y": "./a.js", "./*": "./*.js",
               "./z\\w": "./a.js"}
    package = lay_out(tmp_path, {"package.json": json.dumps({"name": "p", "exports": exports}), "a.js": ""})
    assert npm_packages.subpaths(package) == ["./a", "./ok"]


@pytest.mark.slow
def test_subpaths_are_bundled_into_a_second_file_that_gives_what_node_gives(tools: Path, tmp_path: Path) -> None:
    """nanoid 5 is an ES module with an ``exports`` map (``./non-secure``); its bundle of subpaths,
    required in Node, gives the same module as Node's own ``require('nanoid/non-secure')``."""
    cache = tmp_path / "cache"
    assert npm_packages.install(["nanoid@5.1.16"], cache) == ["/.packages/.npm/nanoid/5.1.16"]
    home = cache / ".npm" / "nanoid" / "5.1.16"
    assert sorted(p.name for p in home.iterdir()) == ["index.cjs", "package.json", "subpaths.cjs"]
    manifest = json.loads((home / "package.json").read_text())
    assert manifest == {"name": "nanoid", "version": "5.1.16", "main": "index.cjs", "subpaths": "subpaths.cjs"}
    assert (home / "subpaths.cjs").read_bytes().isascii()
    node = shutil.which("node")
    assert node is not None
    script = (f"const map = require({json.dumps(str(home / 'subpaths.cjs'))});"
              "console.log(Object.keys(map).join(','), map['./non-secure']().customAlphabet('ab', 12)().length)")
    assert subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout == \
        "./non-secure,./package.json 12\n"


@pytest.mark.slow
def test_a_package_cached_before_subpaths_were_bundled_is_installed_again(tools: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    old = cache / ".npm" / "ms" / "2.1.3"
    old.mkdir(parents=True)
    (old / "package.json").write_text('{"name": "ms", "version": "2.1.3", "main": "index.cjs"}')
    (old / "index.cjs").write_text("module.exports = 'old';")
    assert npm_packages.install(["ms@2.1.3"], cache) == ["/.packages/.npm/ms/2.1.3"]
    manifest = json.loads((old / "package.json").read_text())
    assert manifest["subpaths"] == "subpaths.cjs" and "old" not in (old / "index.cjs").read_text()
    assert only_locks_and(cache, {"ms"})


def only_locks_and(cache: Path, names: set[str]) -> bool:
    """The npm cache holds those packages and lock files: no scratch directory was left behind."""
    return {p.name for p in (cache / npm_packages.SUBDIRECTORY).iterdir()} == names | {".locks"}


@pytest.mark.slow
def test_a_subpath_esbuild_cannot_bundle_is_left_out_and_the_rest_kept(tools: Path, tmp_path: Path) -> None:
    """The real esbuild over a package laid out by hand: a file with a syntax error and one that
    imports a package that is not installed are dropped; the others are bundled. When none can
    be, the package has no subpaths and says why."""
    project = tmp_path / "project"
    lay_out(project / "node_modules" / "p", {
        "package.json": '{"name": "p"}', "index.js": "module.exports = 1;", "good.js": "module.exports = 'good';",
        "broken.js": "module.exports = (;", "needs.js": "import x from 'not-installed'; export default x;",
        "also.js": "module.exports = require('./good') + '!';",
    })
    out = tmp_path / "subpaths.cjs"
    fields = npm_packages._bundle_subpaths("p", project, out, deadline=time.monotonic() + 60)
    assert fields == {"subpaths": "subpaths.cjs"}
    node = shutil.which("node")
    assert node is not None
    script = f"const m = require({json.dumps(str(out))}); console.log(Object.keys(m).join(','), m['./also.js']())"
    assert subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout == \
        "./also.js,./good.js,./index.js,./package.json good!\n"
    lay_out(project / "node_modules" / "q", {"package.json": '{"name": "q", "exports": {"./a": "./a.js"}}',
                                             "a.js": "export default (;"})
    fields = npm_packages._bundle_subpaths("q", project, tmp_path / "q.cjs", deadline=time.monotonic() + 60)
    assert fields["subpaths"] is None
    assert str(fields["subpaths_error"]).startswith("they cannot be bundled for the sandbox: Unexpected")
