"""The plugin manager: loading, isolation of broken plugins, choosing, and the environment."""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wasmrun import HOOK_API_VERSION, __version__, hookimpl
from wasmrun.building import choose_plugin, compile_project
from wasmrun.errors import NoPluginError, PluginError, UsageError
from wasmrun.models import BuildConfig, BuildResult, Claim, PluginInfo
from wasmrun.plugins import BUILTIN_PLUGINS, Plugins, load_plugins

BUILTIN_NAMES = {module.rsplit(".", 1)[-1] for module in BUILTIN_PLUGINS}


class FakeC:
    """A test plugin that claims C projects too, as an external C plugin would."""

    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(name="fake-c", version="9.9", extensions=[".c"])

    @hookimpl
    def can_handle_project(self, project_dir: Path) -> Claim | None:
        return Claim(evidence=["main.c"]) if (project_dir / "main.c").exists() else None

    @hookimpl
    def build(self, config: BuildConfig) -> BuildResult | None:
        return None


class Raising:
    @hookimpl
    def plugin_info(self) -> PluginInfo:
        return PluginInfo(name="raising", version="1.0")

    @hookimpl
    def can_handle_project(self, project_dir: Path) -> Claim | None:
        raise RuntimeError("boom in the plugin")

    @hookimpl
    def build(self, config: BuildConfig) -> BuildResult | None:
        return None


@pytest.fixture
def plugins() -> Iterator[Plugins]:
    manager = load_plugins(entry_points=False)
    yield manager


def test_builtins_load(plugins: Plugins) -> None:
    assert [r.name for r in plugins.loaded()] == [m.rsplit(".", 1)[-1] for m in BUILTIN_PLUGINS]
    assert all(r.builtin and r.error is None for r in plugins.loaded())
    assert plugins.info("c").version == __version__
    assert plugins.get("cpp").name == "c"  # aliases work


def test_external_plugin_wins_over_builtin_and_unregisters(plugins: Plugins,
                                                           make_project: Callable[..., Path]) -> None:
    project = make_project({"main.c": "int main(void){return 0;}"})
    assert choose_plugin(project, plugins) == "c"
    plugins.register(FakeC(), "fake-c", builtin=False, source="fake-c-dist")
    try:
        claims = [name for name, _ in plugins.claims(project)]
        assert claims == ["fake-c", "c"]
        assert choose_plugin(project, plugins) == "fake-c"
        assert choose_plugin(project, plugins, language="c") == "c"  # --language always wins
    finally:
        plugins.unregister("fake-c")
    assert choose_plugin(project, plugins) == "c"


def test_fallback_claim_loses_to_a_real_one(plugins: Plugins, make_project: Callable[..., Path]) -> None:
    class Fallback:
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="anything", version="1")

        @hookimpl
        def can_handle_project(self, project_dir: Path) -> Claim:
            return Claim(evidence=["."], fallback=True)

        @hookimpl
        def build(self, config: BuildConfig) -> BuildResult | None:
            return None

    project = make_project({"main.wat": "(module)"})
    plugins.register(Fallback(), "anything")
    assert [n for n, _ in plugins.claims(project)] == ["wat", "anything"]


def test_hookimpl_matching_no_spec_is_reported_by_name(plugins: Plugins) -> None:
    class Misspelt(FakeC):
        @hookimpl
        def can_handle_projet(self, project_dir: Path) -> None:
            return None

    record = plugins.register(Misspelt(), "misspelt")
    assert record.error == "hookimpl 'can_handle_projet' matches no wasmrun hook (did you mean 'can_handle_project'?)"
    assert not record.loaded
    assert [r.name for r in plugins.loaded()][:2] == ["wat", "c"]


def test_plugin_without_required_hooks_is_refused(plugins: Plugins) -> None:
    class InfoOnly:
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="info-only", version="1")

    record = plugins.register(InfoOnly(), "info-only")
    assert record.error == "missing required hook 'can_handle_project'; missing required hook 'build'"


def test_incompatible_hook_api_is_refused_naming_both_versions(plugins: Plugins) -> None:
    class Future(FakeC):
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="future", version="1", hook_api="2.0")

    record = plugins.register(Future(), "future")
    assert record.error is not None
    assert "hook API 2.0" in record.error and HOOK_API_VERSION in record.error


def test_plugin_that_raises_becomes_a_plugin_error_naming_it(plugins: Plugins,
                                                              make_project: Callable[..., Path]) -> None:
    plugins.register(Raising(), "raising")
    with pytest.raises(PluginError, match="plugin 'raising' failed in can_handle_project: RuntimeError: boom"):
        plugins.claim("raising", make_project({"x.txt": ""}))


def test_a_plugin_failing_in_its_claim_is_named_once_and_the_others_decide(
        plugins: Plugins, make_project: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    class Liar(FakeC):
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="liar", version="1")

        @hookimpl
        def can_handle_project(self, project_dir: Path) -> Claim:
            return "yes"  # type: ignore[return-value]

    plugins.register(Raising(), "raising")
    plugins.register(Liar(), "liar")
    project = make_project({"main.wat": "(module)"})
    assert [name for name, _ in plugins.claims(project)] == ["wat"]
    assert choose_plugin(project, plugins) == "wat"
    assert compile_project(project, plugins).plugin == "wat"
    assert capsys.readouterr().err.splitlines() == [
        "warning: plugin 'raising' failed in can_handle_project: RuntimeError: boom in the plugin; skipped",
        "warning: plugin 'liar' returned str from can_handle_project, not Claim; skipped",
    ]


def test_a_plugin_calling_sys_exit_in_a_hook_is_that_plugins_failure(
        plugins: Plugins, make_project: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    class Exiting(FakeC):
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="exiting", version="1")

        @hookimpl
        def can_handle_project(self, project_dir: Path) -> Claim:
            raise SystemExit(7)

        @hookimpl
        def build(self, config: BuildConfig) -> BuildResult:
            raise SystemExit(7)

    plugins.register(Exiting(), "exiting")
    project = make_project({"main.wat": "(module)"})
    assert [name for name, _ in plugins.claims(project)] == ["wat"]
    assert "plugin 'exiting' failed in can_handle_project: SystemExit: 7; skipped" in capsys.readouterr().err
    with pytest.raises(PluginError, match="plugin 'exiting' failed in build: SystemExit: 7"):
        compile_project(project, plugins, language="exiting", use_cache=False)


def test_ctrl_c_in_a_plugin_is_not_the_plugins_failure(plugins: Plugins, make_project: Callable[..., Path]) -> None:
    class Interrupted(FakeC):
        @hookimpl
        def can_handle_project(self, project_dir: Path) -> Claim:
            raise KeyboardInterrupt

    plugins.register(Interrupted(), "interrupted")
    with pytest.raises(KeyboardInterrupt):
        plugins.claims(make_project({"main.wat": "(module)"}))


def test_two_plugins_sharing_an_alias_are_named_not_chosen_silently(plugins: Plugins) -> None:
    class OtherC(FakeC):
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="other-c", version="1", aliases=["cpp"])

    assert plugins.register(OtherC(), "other-c").error is None
    with pytest.raises(UsageError, match=r"'cpp' names more than one plugin \('c' and 'other-c'\)"):
        plugins.get("cpp")
    assert plugins.get("c").name == "c" and plugins.get("other-c").name == "other-c"  # names still work


def test_a_second_plugin_under_a_taken_name_fails_and_the_first_stays(plugins: Plugins,
                                                                      make_project: Callable[..., Path]) -> None:
    first = plugins.register(FakeC(), "fake-c", source="dist-one")
    second = plugins.register(FakeC(), "fake-c", source="dist-two")
    assert first.loaded and plugins.records["fake-c"] is first
    assert second.error == "the name 'fake-c' is taken by dist-one 9.9"
    assert second in plugins.failures()
    project = make_project({"main.c": ""})
    assert [name for name, _ in plugins.claims(project)] == ["fake-c", "c"]
    # The same object twice (pluggy refuses it) must not unregister the first either.
    again = plugins.register(first.plugin, "fake-c-again")
    assert again.error is not None and plugins.records["fake-c"].loaded
    assert [name for name, _ in plugins.claims(project)] == ["fake-c", "c"]


@pytest.mark.parametrize("name", ["my.tool", "My", "tool\n[x]", "", "9lives", "a" * 41, "tool ", "a--b"])
def test_a_plugin_name_outside_the_one_rule_is_refused(plugins: Plugins, name: str) -> None:
    record = plugins.register(FakeC(), name)
    assert record.error is not None and record.error.startswith("invalid plugin name ")
    assert "\n" not in record.error
    assert not record.loaded


def test_wrapper_plugins_run_around_the_chosen_build(plugins: Plugins, make_project: Callable[..., Path]) -> None:
    seen: list[str] = []

    class Timing:
        @hookimpl(wrapper=True)
        def build(self, config: BuildConfig) -> Any:
            seen.append("before")
            result = yield
            seen.append(f"after {result.wasm_path.name}")
            return result

    plugins.pm.register(Timing(), name="timing")
    project = make_project({"main.wat": "(module)"})
    compile_project(project, plugins)
    assert seen == ["before", "after main.wasm"]


def test_unknown_language_lists_the_choices(plugins: Plugins) -> None:
    names = ", ".join(sorted(r.name for r in plugins.loaded()))
    with pytest.raises(NoPluginError, match=re.escape(f"unknown language plugin 'cobol' (available: {names})")):
        plugins.get("cobol")


def test_disable_builtin_by_environment(make_project: Callable[..., Path]) -> None:
    plugins = load_plugins(entry_points=False, environ={"WASMRUN_DISABLE_PLUGINS": "wat"})
    assert "wat" not in [r.name for r in plugins.loaded()]
    assert plugins.records["wat"].state == "disabled"
    with pytest.raises(NoPluginError, match="disabled"):
        plugins.get("wat")
    with pytest.raises(NoPluginError, match="no language plugin claims"):
        choose_plugin(make_project({"main.wat": "(module)"}), plugins)


# -- entry points: each loaded on its own ----------------------------------------------------------

class FakeEntryPoint:
    def __init__(self, name: str, value: str, loader: Callable[[], object]) -> None:
        self.name, self.value, self._loader, self.dist = name, value, loader, None

    def load(self) -> object:
        return self._loader()


def _good_module() -> types.ModuleType:
    module = types.ModuleType("wasmrun_good")
    module.plugin_info = hookimpl(lambda: PluginInfo(name="good", version="1.2"))  # type: ignore[attr-defined]
    module.can_handle_project = hookimpl(lambda project_dir: None)  # type: ignore[attr-defined]
    module.build = hookimpl(lambda config: None)  # type: ignore[attr-defined]
    return module


def _broken() -> object:
    raise ImportError("No module named 'missing_dependency'")


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    eps = [FakeEntryPoint("broken", "wasmrun_broken:plugin", _broken),
           FakeEntryPoint("good", "wasmrun_good", _good_module)]
    monkeypatch.setattr("wasmrun.plugins.external_entry_points", lambda: eps)
    return eps


def test_broken_entry_point_is_reported_and_others_load(entry_points: list[FakeEntryPoint]) -> None:
    plugins = load_plugins(environ={})
    assert plugins.records["good"].loaded
    broken = plugins.records["broken"]
    assert not broken.loaded
    assert broken.error == "cannot import wasmrun_broken:plugin: ImportError: No module named 'missing_dependency'"


@pytest.mark.parametrize(("value", "loaded"), [
    (None, {"good"}),
    ("", set()),
    ("good", {"good"}),
    ("broken", set()),
])
def test_load_plugins_allow_list(entry_points: list[FakeEntryPoint], value: str | None, loaded: set[str]) -> None:
    env = {} if value is None else {"WASMRUN_LOAD_PLUGINS": value}
    plugins = load_plugins(environ=env)
    assert {r.name for r in plugins.loaded() if not r.builtin} == loaded
    assert {r.name for r in plugins.loaded() if r.builtin} == BUILTIN_NAMES


def test_an_entry_point_with_an_invalid_name_is_refused_before_its_code_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    eps = [FakeEntryPoint("my.tool", "my_tool", lambda: ran.append("imported") or _good_module())]
    monkeypatch.setattr("wasmrun.plugins.external_entry_points", lambda: eps)
    record = load_plugins(environ={}).records["my.tool"]
    assert record.error is not None and record.error.startswith("invalid plugin name 'my.tool': use lowercase")
    assert ran == []


def _exits_at_import() -> object:
    raise SystemExit(7)


def test_a_plugin_calling_sys_exit_at_import_is_that_plugins_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    eps = [FakeEntryPoint("exits", "wasmrun_exits", _exits_at_import),
           FakeEntryPoint("good", "wasmrun_good", _good_module)]
    monkeypatch.setattr("wasmrun.plugins.external_entry_points", lambda: eps)
    plugins = load_plugins(environ={})
    assert plugins.records["exits"].error == "cannot import wasmrun_exits: SystemExit: 7"
    assert plugins.records["good"].loaded


def _good_wat() -> object:
    class ExternalWat(FakeC):
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="wat", version="5.0", extensions=[".wat"])

    return ExternalWat()


@pytest.mark.parametrize(("loader", "allow", "used"), [
    (_broken, None, "built-in"),  # it fails to import: the built-in stays
    (_broken, "", "built-in"),  # filtered out: "built-ins only" means the built-ins
    (_broken, "wat", "built-in"),
    (_exits_at_import, None, "built-in"),
    (lambda: types.SimpleNamespace(), None, "built-in"),  # imports, but has no hooks: fails to register
    (_good_wat, "", "built-in"),
    (_good_wat, None, "external"),  # it loaded: it replaces the built-in
])
def test_a_builtin_is_replaced_only_by_a_same_named_plugin_that_loaded(
        monkeypatch: pytest.MonkeyPatch, make_project: Callable[..., Path], loader: Callable[[], object],
        allow: str | None, used: str) -> None:
    monkeypatch.setattr("wasmrun.plugins.external_entry_points",
                        lambda: [FakeEntryPoint("wat", "wasmrun_wat", loader)])
    plugins = load_plugins(environ={} if allow is None else {"WASMRUN_LOAD_PLUGINS": allow})
    record = plugins.get("wat")
    assert record.loaded
    assert ("built-in" if record.builtin else "external") == used
    project = make_project({"main.wat": "(module)"})
    if used == "built-in":
        assert compile_project(project, plugins, use_cache=False).plugin == "wat"
        assert plugins.info("wat").version == __version__
        assert len([r for r in plugins.all_records() if r.name == "wat"]) == 2  # the external is listed too
    else:
        assert plugins.info("wat").version == "5.0"


def test_trace_prints_every_hook_call(capsys: pytest.CaptureFixture[str], make_project: Callable[..., Path]) -> None:
    plugins = load_plugins(entry_points=False, environ={"WASMRUN_TRACE_PLUGINS": "1"})
    plugins.claims(make_project({"main.wat": "(module)"}))
    err = capsys.readouterr().err
    assert "wasmrun trace: can_handle_project(project_dir=" in err
    assert "returned Claim(evidence=['main.wat']" in err


def test_core_tests_see_no_third_party_plugins() -> None:
    from wasmrun.building import default_plugins

    assert {r.name for r in default_plugins().loaded()} == BUILTIN_NAMES


def test_build_returning_wrong_type_is_a_plugin_error(plugins: Plugins, make_project: Callable[..., Path]) -> None:
    class Liar(FakeC):
        @hookimpl
        def plugin_info(self) -> PluginInfo:
            return PluginInfo(name="liar", version="1")

        @hookimpl
        def can_handle_project(self, project_dir: Path) -> Claim:
            return Claim(evidence=["x"])

        @hookimpl
        def build(self, config: BuildConfig) -> BuildResult:
            return "not a result"  # type: ignore[return-value]

    plugins.register(Liar(), "liar")
    with pytest.raises(PluginError, match="returned str from build"):
        compile_project(make_project({"x": ""}), plugins, language="liar")
