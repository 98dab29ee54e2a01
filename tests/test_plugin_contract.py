"""The one set of plugin rules (wasmrun/plugin_contract.py): the loader, ``plugin list``,
``plugin health`` and the conformance check say the same thing; fatal problems stop a plugin
loading, quality problems are warnings; the rules never blow up on whatever a plugin module holds."""

from __future__ import annotations

import json
import keyword
import string
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wasmrun
from wasmrun import building, plugin_contract
from wasmrun.models import BuildConfig, BuildResult, Capability, Claim, PluginInfo
from wasmrun.plugins import load_plugins
from wasmrun.testing import ConformanceError, check_plugin, invoke_cli


def _plugin(**hooks: Any) -> types.ModuleType:
    """A plugin module: a complete one, with ``hooks`` replacing (or, as None, removing) its functions."""
    module = types.ModuleType("wasmrun_contract_test")

    def plugin_info() -> PluginInfo:
        return PluginInfo(name="contract", version="1.0", description="d", extensions=[".ct"],
                          capabilities=[Capability.WASM])

    def can_handle_project(project_dir: Path) -> Claim | None:
        return None

    def build(config: BuildConfig) -> BuildResult | None:
        return None

    functions: dict[str, Any] = {"plugin_info": wasmrun.hookimpl(plugin_info),
                                 "can_handle_project": wasmrun.hookimpl(can_handle_project),
                                 "build": wasmrun.hookimpl(build)}
    functions.update(hooks)
    for name, function in functions.items():
        if function is not None:
            if getattr(function, "__module__", None) != module.__name__ and not hasattr(function, "wasmrun_impl"):
                function.__module__ = module.__name__  # defined by the plugin's own module
            setattr(module, name, function)
    return module


def _bad_info() -> PluginInfo:
    return PluginInfo(name="contract", version="1.0", capabilities=["browser"])  # type: ignore[list-item]


def _bare_info() -> PluginInfo:
    return PluginInfo(name="contract", version="1.0")


def _undecorated_clean(project_dir: Path, output_dir: Path) -> list[Path]:
    return []


MISTAKES = {
    "misspelt": ({"validate_projet": wasmrun.hookimpl(lambda project_dir: None)},
                 ["hookimpl 'validate_projet' matches no wasmrun hook (did you mean 'validate_project'?)"]),
    "parameter": ({"build": wasmrun.hookimpl(lambda cfg: None)},
                  ["hookimpl 'build' takes cfg, which the hook does not pass (it passes: config)"]),
    "no build": ({"build": None}, ["missing required hook 'build'"]),
    "undecorated": ({"clean": _undecorated_clean},
                    ["'clean' is named like a hook but not marked @wasmrun.hookimpl"]),
    "two at once": ({"build": None, "validate_projet": wasmrun.hookimpl(lambda project_dir: None)},
                    ["hookimpl 'validate_projet' matches no wasmrun hook (did you mean 'validate_project'?)",
                     "missing required hook 'build'"]),
    "capability": ({"plugin_info": wasmrun.hookimpl(_bad_info)},
                   ["plugin_info: PluginInfo.capabilities[0] is 'browser': Input should be 'wasm', 'wasi', "
                    "'library', 'web', 'optimization-levels', 'debug-info' or 'component'"]),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_mistake_reads_the_same_in_the_loader_list_health_and_conformance(
        mistake: str, monkeypatch: pytest.MonkeyPatch) -> None:
    hooks, messages = MISTAKES[mistake]
    plugin = _plugin(**hooks)
    plugins = load_plugins(entry_points=False)
    record = plugins.register(plugin, "contract")
    assert not record.loaded
    assert record.error == "; ".join(messages)

    monkeypatch.setattr(building, "default_plugins", lambda: plugins)
    listed = invoke_cli("plugin", "list")
    line = next(line for line in listed.stdout.splitlines() if line.startswith("contract "))
    assert line.endswith(f"error: {'; '.join(messages)}")
    health = invoke_cli("plugin", "health", "contract")
    assert health.exit_code == 1 and health.stdout == f"{'contract':<16} LoadError: {'; '.join(messages)}\n"
    compiled = invoke_cli("compile", ".", "--language", "contract")
    assert compiled.exit_code == 2
    assert compiled.stderr == f"error: plugin 'contract' failed to load: {'; '.join(messages)}\n"

    with pytest.raises(ConformanceError) as caught:
        check_plugin(plugin, name="contract", build=False)
    assert all(any(message in problem for problem in caught.value.problems) for message in messages), \
        caught.value.problems


def test_quality_problems_are_warnings_and_the_plugin_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    plugins = load_plugins(entry_points=False)
    record = plugins.register(_plugin(plugin_info=wasmrun.hookimpl(_bare_info)), "contract")
    assert record.loaded and record.error is None
    assert record.warnings == [
        "plugin_info().description is empty",
        "plugin_info() lists no extensions and no entry_files (which files matter to a build?)",
        "plugin_info().capabilities is empty (say what it builds: wasm, wasi, library, web, "
        "optimization-levels, debug-info, component)",
    ]
    monkeypatch.setattr(building, "default_plugins", lambda: plugins)
    listed = invoke_cli("plugin", "list")
    line = next(line for line in listed.stdout.splitlines() if line.startswith("contract "))
    assert line.endswith(f"loaded (warning: {'; '.join(record.warnings)})")
    rows = {row["name"]: row for row in json.loads(invoke_cli("plugin", "list", "--json").stdout)}
    assert rows["contract"]["warnings"] == record.warnings and rows["contract"]["state"] == "loaded"
    health = json.loads(invoke_cli("plugin", "health", "contract", "--json").stdout)
    assert health == [{"name": "contract", "status": "Healthy", "detail": "", "missing": [],
                       "warnings": record.warnings}]


def test_builtins_break_no_rule() -> None:
    plugins = load_plugins(entry_points=False)
    assert [(r.name, r.error, r.warnings) for r in plugins.all_records() if r.error or r.warnings] == []


def test_a_validation_error_names_each_field_what_it_got_and_what_it_accepts() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        PluginInfo(name="x", version=3, capabilities=["wasm", "browser"], colour="red")  # type: ignore[arg-type,list-item,call-arg]
    text = plugin_contract.describe_validation_error(caught.value)
    assert text.split("; ") == [
        "PluginInfo.version is 3: Input should be a valid string",
        "PluginInfo.capabilities[1] is 'browser': Input should be 'wasm', 'wasi', 'library', 'web', "
        "'optimization-levels', 'debug-info' or 'component'",
        "PluginInfo.colour is 'red': Extra inputs are not permitted",
    ]
    with pytest.raises(ValidationError) as missing:
        PluginInfo(name="x")  # type: ignore[call-arg]
    assert plugin_contract.describe_validation_error(missing.value) == "PluginInfo.version: Field required"


class _Hostile:
    """Attributes that raise, or are not functions, or cannot be inspected."""

    @property
    def build(self) -> Any:
        raise RuntimeError("a property that raises")

    plugin_info = 42
    can_handle_project = print  # a builtin: no signature to read on some Pythons


def test_hostile_objects_do_not_break_the_rules() -> None:
    problems = [p.message for p in plugin_contract.hookimpl_problems(_Hostile())]
    assert "missing required hook 'build'" in problems
    assert [p.message for p in plugin_contract.hookimpl_problems(object())] == [
        f"missing required hook '{hook}'" for hook in plugin_contract.REQUIRED_HOOKS]


_words = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=24).filter(
    lambda n: not n.startswith("__") and not keyword.iskeyword(n))
_hooks = sorted(plugin_contract.hook_specs())
#: Hook names, their parameters, and near misses, as well as any word.
_names = st.one_of(st.sampled_from(_hooks), st.sampled_from(["project_dir", "config", "target", "probe", "flavour"]),
                   st.sampled_from([h[:-1] for h in _hooks]), _words)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.dictionaries(_names, st.tuples(st.booleans(), st.lists(_names, max_size=3, unique=True)), max_size=8))
def test_every_marked_function_the_specs_do_not_know_is_reported_and_nothing_raises(
        functions: dict[str, tuple[bool, list[str]]]) -> None:
    specs = plugin_contract.hook_specs()
    module = types.ModuleType("wasmrun_fuzzed")
    for name, (marked, params) in functions.items():
        function = eval(f"lambda {', '.join(params)}: None")  # the parameters come from the strategy only
        function.__module__ = module.__name__
        setattr(module, name, wasmrun.hookimpl(function) if marked else function)
    problems = [p.message for p in plugin_contract.hookimpl_problems(module)]
    assert all(isinstance(p, str) and "\n" not in p for p in problems)
    for name, (marked, params) in functions.items():
        if marked and name not in specs:
            assert any(p.startswith(f"hookimpl '{name}' matches no wasmrun hook") for p in problems)
        elif marked and set(params) - set(specs[name].__code__.co_varnames):
            assert any(p.startswith(f"hookimpl '{name}' takes ") for p in problems)
        elif not marked and name in specs:
            assert f"'{name}' is named like a hook but not marked @wasmrun.hookimpl" in problems
    for hook in plugin_contract.REQUIRED_HOOKS:
        assert (f"missing required hook '{hook}'" in problems) == (not functions.get(hook, (False, []))[0])


# -- plugin check, plugin info, two copies ----------------------------------------------------------

def _package(root: Path, name: str, module_text: str) -> Path:
    project = root / f"wasmrun-{name}"
    (project / f"wasmrun_{name}").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "wasmrun-{name}"\nversion = "0.1.0"\n\n'
        f'[project.entry-points.wasmrun]\n{name} = "wasmrun_{name}"\n')
    (project / f"wasmrun_{name}" / "__init__.py").write_text(module_text)
    return project


def test_plugin_check_of_a_project_directory_lists_every_problem(tmp_path: Path) -> None:
    from wasmrun.scaffold import render

    files = render("checked")
    module = files["wasmrun_checked/__init__.py"].replace("def validate_project(", "def validate_projet(")
    module = module.replace("@wasmrun.hookimpl\ndef build(", "def build(")
    project = _package(tmp_path, "checked", module)
    result = invoke_cli("plugin", "check", project)
    assert result.exit_code == 1, result.stderr
    assert result.stdout == (
        "plugin 'checked' does not conform (3 problems):\n"
        "  - 'build' is named like a hook but not marked @wasmrun.hookimpl\n"
        "  - hookimpl 'validate_projet' matches no wasmrun hook (did you mean 'validate_project'?)\n"
        "  - missing required hook 'build'\n")
    data = json.loads(invoke_cli("plugin", "check", project, "--json").stdout)
    assert data["conforms"] is False and len(data["problems"]) == 3

    fixed = _package(tmp_path / "fixed", "checked", files["wasmrun_checked/__init__.py"])
    (fixed / "example").mkdir()
    (fixed / "example" / "main.checked").write_text("hello from the example\n")
    good = invoke_cli("plugin", "check", fixed, "--json")
    assert good.exit_code == 0, good.stdout + good.stderr
    report = json.loads(good.stdout)
    assert report["conforms"] and report["problems"] == [] and "builds a valid module" in report["passed"]


def test_plugin_check_of_what_is_not_a_plugin(tmp_path: Path) -> None:
    broken = _package(tmp_path, "noimport", "import no_such_module_here\n")
    result = invoke_cli("plugin", "check", broken)
    assert result.exit_code == 1
    assert result.stdout == ("plugin 'noimport' does not conform (1 problem):\n  - cannot import wasmrun_noimport: "
                             "ModuleNotFoundError: No module named 'no_such_module_here'\n")
    missing = invoke_cli("plugin", "check", "nosuchplugin")
    assert missing.exit_code == 2 and missing.stderr.startswith("error: no installed plugin 'nosuchplugin'")
    empty = tmp_path / "empty"
    empty.mkdir()
    not_a_project = invoke_cli("plugin", "check", empty)
    assert not_a_project.exit_code == 2
    assert not_a_project.stderr == f"error: {empty} holds no pyproject.toml (is it a plugin project?)\n"


def test_plugin_info_shows_the_author() -> None:
    shown = invoke_cli("plugin", "info", "c")
    assert shown.exit_code == 0 and "  author:       wasmrun\n" in shown.stdout


class _FakeEntryPoint:
    def __init__(self, name: str, loader: Any) -> None:
        self.name, self.value, self.dist, self._loader = name, f"wasmrun_{name}", None, loader

    def load(self) -> Any:
        return self._loader()


def test_two_copies_of_one_plugin_keep_the_one_python_imports_and_name_the_other(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    provided = _FakeEntryPoint("contract", lambda: _plugin())
    copy = _FakeEntryPoint("contract", lambda: pytest.fail("the second copy is not imported"))
    monkeypatch.setattr("wasmrun.plugins.external_entry_points", lambda: [provided])
    monkeypatch.setattr("wasmrun.plugins.entry_points_in", lambda directory: [copy])
    plugins = load_plugins(environ={}, installed_dirs=[str(tmp_path)])
    assert plugins.records["contract"].loaded and plugins.records["contract"].origin == "environment"
    [other] = [r for r in plugins.shadowed if r.name == "contract"]
    assert other.origin == "installed" and other.error is not None
    assert other.error.startswith("pip also provides 'contract' (wasmrun_contract, in ?)")
    assert other.error.endswith("keep one (wasmrun plugin uninstall contract, or pip uninstall wasmrun_contract)")


@given(st.one_of(st.text(max_size=12), st.from_regex(r"\d{1,3}(\.\d{1,3}){0,3}", fullmatch=True)))
def test_the_quick_version_rule_agrees_with_packaging(text: str) -> None:
    from packaging.version import InvalidVersion, Version

    try:
        Version(text)
        valid = True
    except InvalidVersion:
        valid = False
    assert plugin_contract.is_version(text) == valid


def test_an_editable_install_of_what_is_not_a_plugin_is_refused_before_pip_runs(tmp_path: Path) -> None:
    project = tmp_path / "not-a-plugin"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "not-a-plugin"\nversion = "1.0"\n')
    result = invoke_cli("plugin", "install", "-e", project)
    assert result.exit_code == 2
    assert result.stderr == (f"error: {project} declares no wasmrun plugin (no [project.entry-points.wasmrun] "
                             "in its pyproject.toml)\n")
    assert invoke_cli("plugin", "install", "-e", tmp_path / "nowhere").stderr.startswith(
        "error: an editable install needs a project directory (with pyproject.toml)")
