"""The build cache as a user meets it, in random order: a stateful property test (issue 13, "Tests").

A hypothesis state machine edits, adds, deletes and renames files (sources, a header with an
extension no plugin lists, a header in a hidden and in a build-named directory, a header outside
the project included by a relative path, files that are no input at all), points ``CPATH`` at one
of two include directories, swaps a compiler wrapper on ``PATH`` (same ``--version``, another
build), and edits files (or moves a directory away and back) while a build runs; between those
it compiles (with and without the cache, with several options), runs ``exec PROJECT`` (in-process
through the typer-free route, and now and then as ``python -m wasmrun exec``) and cleans.

Invariant: every output is byte-identical to a build of the same state at the same path with the
cache off (:meth:`CacheMachine.uncached`); a build that saw an edit while it ran gives the build
of the state before or after the edit, or (an edit reverted before it ended) is checked by the
next compile. The machines also keep the cache honest the other way: a compile of a state that an
earlier build of the same invocation stored (among the manifest's newest candidates) must be a hit,
and a build whose inputs had settled must be stored.

Builds of one state are reproducible, so the cache-off build of each state is made once per test
(states are keyed by everything under the machine's world directory, the environment and the
options) and reused by later examples at the same paths.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from wasmrun import hookimpl, manifests
from wasmrun.build_inputs import first_difference
from wasmrun.building import clean_project, compile_project
from wasmrun.cache import MAX_BYTES_ENV, BuildCache
from wasmrun.cli.fast import _built_module
from wasmrun.errors import WasmrunError
from wasmrun.models import BuildConfig, BuildResult, Optimization
from wasmrun.plugins import load_plugins
from wasmrun.testing import require_tool, run_wasm

#: A slot's state: absent (None), or (at its own name rather than its renamed one, variant).
SlotState = tuple[bool, int] | None


@dataclass(frozen=True)
class Slot:
    """A file the machine plays with, relative to its world directory."""

    name: str  # where it is read from
    renamed: str | None  # where a rename moves it (None: never renamed)
    render: Callable[[int], str]
    variants: tuple[int, ...] = (0, 1, 2)
    fixed: bool = False  # always there: edited, never deleted or renamed
    executable: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a build gave: its files by name, or the kind of error."""

    files: dict[str, bytes] = field(default_factory=dict)
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"error {self.error}"
        return ", ".join(f"{name} ({len(data)} bytes, {hashlib.sha256(data).hexdigest()[:12]})"
                         for name, data in sorted(self.files.items()))


class DuringBuild:
    """A wrapper plugin around every ``build``: ``during`` runs before the plugin's build, ``after``
    once it is done but before wasmrun post-processes and records it."""

    def __init__(self) -> None:
        self.during: Callable[[], None] | None = None
        self.after: Callable[[], None] | None = None

    @hookimpl(wrapper=True)
    def build(self, config: BuildConfig) -> Generator[None, BuildResult | None, BuildResult | None]:
        if self.during:
            self.during()
        result = yield
        if self.after:
            self.after()
        return result


class CacheLog(logging.Handler):
    """The build cache's log lines (``hit``/``miss`` and why; why a build was not stored)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def settle() -> None:
    """Let the file-system clock move past what was just written (a file written in the tick a
    build starts in is "too new": that build is used once and not stored)."""
    time.sleep(0.03)


#: What follows a change to the files (see :meth:`CacheMachine._then`).
THEN = st.sampled_from(["settle", "settle", "compile now", "nothing"])

#: Writes older than this (monotonic seconds) have settled.
SETTLED_S = 0.03


class CacheMachine(RuleBasedStateMachine):
    """The rules every project shares; a subclass gives the project's files and options."""

    # set by the test before the run
    base: ClassVar[Path]
    cache_off_builds: ClassVar[dict[str, Outcome]]
    stats: ClassVar[dict[str, int]]

    project_name: ClassVar[str]
    slots: ClassVar[dict[str, Slot]]
    wrapper: ClassVar[str]  # the slot that is a tool wrapper on PATH
    options: ClassVar[dict[str, dict[str, Any]]]
    wasm_name: ClassVar[str]
    movable_dir: ClassVar[str]  # a directory renamed away and back while a build runs

    def __init__(self) -> None:
        super().__init__()
        type(self).stats["examples"] += 1
        self.world = self.base / "world"
        self.home = self.base / "home"
        for leftover in (self.world, self.home, self.base / "kept-out"):
            shutil.rmtree(leftover, ignore_errors=True)
        self.project = self.world / self.project_name
        self.out = self.project / "wasmrun-out"
        self.bin = self.world / "bin"
        self.bin.mkdir(parents=True)
        self.project.mkdir(parents=True)
        self.saved_env = {name: os.environ.get(name) for name in ("PATH", "CPATH", "WASMRUN_HOME", MAX_BYTES_ENV)}
        os.environ["PATH"] = f"{self.bin}{os.pathsep}{os.environ['PATH']}"
        os.environ["WASMRUN_HOME"] = str(self.home)
        os.environ.pop("CPATH", None)
        os.environ.pop(MAX_BYTES_ENV, None)
        self.model: dict[str, SlotState] = dict.fromkeys(self.slots)
        for name, slot in self.slots.items():
            if slot.fixed:
                self._set(name, (True, slot.variants[0]))
        self.hook = DuringBuild()
        self.plugins = load_plugins(entry_points=False)
        self.plugins.pm.register(self.hook, name="during-build")
        self.plain = load_plugins(entry_points=False)
        self.log = CacheLog()
        self.logger = logging.getLogger("wasmrun.cache")
        self.saved_level = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self.log)
        self.last_write = 0.0
        #: per option set, the states stored by builds, newest first (an ``object()``: a build
        #: that may have stored something unknown)
        self.stored: dict[str, list[object]] = {}
        self.compiles = 0
        self.cli_runs = 0

    def teardown(self) -> None:
        self.logger.removeHandler(self.log)
        self.logger.setLevel(self.saved_level)
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(self.world, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)

    # -- the world ----------------------------------------------------------------------------

    def _path(self, name: str, state: tuple[bool, int]) -> Path:
        slot = self.slots[name]
        rel = slot.name if state[0] else slot.renamed
        assert rel is not None
        return self.world / rel

    def _set(self, name: str, new: SlotState) -> None:
        """Change one file on disk the way a user would: write, delete, or rename (and write)."""
        old, slot = self.model[name], self.slots[name]
        if old is not None and (new is None or new[0] != old[0]):
            if new is None:
                self._path(name, old).unlink()
            else:
                target = self._path(name, new)
                target.parent.mkdir(parents=True, exist_ok=True)
                self._path(name, old).rename(target)
        if new is not None and (old is None or old[1] != new[1]):
            path = self._path(name, new)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(slot.render(new[1]))
            if slot.executable:
                path.chmod(0o755)
        self.model[name] = new
        self.last_write = time.monotonic()

    def _present(self, name: str) -> bool:
        state = self.model[name]
        return state is not None and state[0]

    def _variant(self, name: str) -> int | None:
        state = self.model[name]
        return state[1] if state is not None and state[0] else None

    def _changes(self, name: str) -> list[SlotState]:
        """What a user could make of one file: another variant, gone, renamed (back)."""
        state, slot = self.model[name], self.slots[name]
        if state is None:
            return [(True, v) for v in slot.variants]
        changes: list[SlotState] = [(state[0], v) for v in slot.variants if v != state[1]]
        if not slot.fixed:
            changes.append(None)
            if slot.renamed is not None:
                changes.append((not state[0], state[1]))
        return changes

    def _files(self) -> list[str]:
        return [name for name in self.slots if name != self.wrapper]

    def _then(self, then: str, data: st.DataObject) -> None:
        """After a change: let it settle (the next build can be stored), or compile at once (a
        build that may be too new to store, but must be right), or go on."""
        if then == "settle":
            settle()
        elif then == "compile now":
            option = data.draw(st.sampled_from(sorted(self.options)), label="options")
            outcome, hit = self._compile(option)
            self.check(outcome, option, f"compile right after the change ({option}, {'hit' if hit else 'built'})")

    def state_key(self, option: str) -> str:
        """Everything a build of this world could depend on: every file and directory under it
        (contents, executable bits), ``CPATH`` and the options."""
        digest = hashlib.sha256(f"{option}\0{os.environ.get('CPATH')}\0".encode())
        for root, dirs, files in os.walk(self.world):
            dirs[:] = sorted(d for d in dirs if os.path.join(root, d) != str(self.out))
            digest.update(f"D {os.path.relpath(root, self.world)}\0".encode())
            for name in sorted(files):
                path = Path(root, name)
                digest.update(f"F {name} {os.access(path, os.X_OK)}\0".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    # -- building ------------------------------------------------------------------------------

    def uncached(self, option: str) -> Outcome:
        """The build of the present state at the same path with the cache off (nothing read from
        or written to it), made once per state."""
        key = self.state_key(option)
        if key in self.cache_off_builds:
            return self.cache_off_builds[key]
        kept = self.base / "kept-out"
        if self.out.exists():
            shutil.move(self.out, kept)
        os.environ[MAX_BYTES_ENV] = "0"
        try:
            outcome = self._outcome(lambda: compile_project(self.project, self.plain, use_cache=False,
                                                            **self.options[option]))[0]
        finally:
            del os.environ[MAX_BYTES_ENV]
            shutil.rmtree(self.out, ignore_errors=True)
            if kept.exists():
                shutil.move(kept, self.out)
        type(self).stats["cache-off builds"] += 1
        self.cache_off_builds[key] = outcome
        return outcome

    @staticmethod
    def _outcome(build: Callable[[], BuildResult]) -> tuple[Outcome, BuildResult | None]:
        try:
            result = build()
        except WasmrunError as exc:
            return Outcome(error=type(exc).__name__), None
        return Outcome({p.name: p.read_bytes() for p in result.files()}), result

    def _settled(self) -> bool:
        return time.monotonic() - self.last_write > SETTLED_S

    def _expect_hit(self, option: str, state: str) -> bool:
        """Whether one of the manifest's newest candidates is certainly a build of ``state``."""
        distinct: list[object] = []
        for stored in self.stored.get(option, []):
            if stored not in distinct:
                distinct.append(stored)
        return state in distinct[:manifests.MAX_CANDIDATES]

    def _candidate_differences(self, option: str) -> list[str | None]:
        options = manifests.invocation(self.project, **self.options[option])
        candidates = manifests.load(manifests.manifest_path(BuildCache.default(), options))
        return [first_difference(c["inputs"], project_dir=str(self.project)) for c in candidates]

    def _outside_world(self, why: str) -> bool:
        """A reason about a file outside this test's world (wasmrun's code, a directory on
        ``sys.path``): other work on the machine, not the cache's mistake."""
        return any(not path.startswith(str(self.world)) for path in re.findall(r"(?:^|\s)(/\S*)", why))

    def _compile(self, option: str, *, use_cache: bool = True, mid_build: bool = False) -> tuple[Outcome, bool]:
        """A compile, its bookkeeping and the checks that do not need the cache-off build:
        (outcome, whether it was a hit)."""
        state = self.state_key(option)
        settled = self._settled() and not mid_build
        expect_hit = use_cache and not mid_build and self._expect_hit(option, state)
        differences = self._candidate_differences(option) if expect_hit else []
        self.log.lines.clear()
        outcome, result = self._outcome(lambda: compile_project(self.project, self.plugins, use_cache=use_cache,
                                                                **self.options[option]))
        hit = result is not None and result.cached
        self._account(option, state, outcome, hit, settled=settled, mid_build=mid_build,
                      expect_hit=expect_hit, differences=differences)
        if result is not None and not mid_build and self.compiles % 3 == 0:
            assert run_wasm(result.wasm_path).stdout == self.expected_stdout()
        self.compiles += 1
        return outcome, hit

    def _account(self, option: str, state: str, outcome: Outcome, hit: bool, *, settled: bool, mid_build: bool,
                 expect_hit: bool, differences: list[str | None]) -> None:
        stats = type(self).stats
        stats["hits" if hit else "errors" if outcome.error else "builds"] += 1
        if expect_hit and not hit:
            if None in differences:
                raise AssertionError(f"a candidate matched but the compile was a miss: {self.log.lines}")
            if not any(d is not None and self._outside_world(d) for d in differences):
                raise AssertionError(f"a build of this state was stored, yet the compile missed: {differences}")
            stats["misses tolerated (a file outside the test changed)"] += 1
        if hit or outcome.error:
            return
        not_stored = [line for line in self.log.lines if line.endswith("not stored")]
        if not_stored:
            if settled and not any(self._outside_world(line) for line in not_stored):
                raise AssertionError(f"a build of settled inputs was not stored: {not_stored}")
            stats["used once, not stored"] += 1
            return
        stats["stored"] += 1
        self.stored.setdefault(option, []).insert(0, object() if mid_build else state)

    def check(self, outcome: Outcome, option: str, what: str) -> None:
        want = self.uncached(option)
        assert outcome == want, f"{what}: got {outcome.describe()}, cache off gives {want.describe()}"

    def expected_stdout(self) -> str:
        raise NotImplementedError

    # -- rules: files --------------------------------------------------------------------------

    @initialize(data=st.data())
    def start(self, data: st.DataObject) -> None:
        """Any mix of the optional files, present, renamed away or absent."""
        for name, slot in self.slots.items():
            if not slot.fixed:
                self._set(name, data.draw(st.sampled_from([None, *self._changes(name)]), label=name))
        settle()

    @rule(data=st.data(), then=THEN)
    def edit(self, data: st.DataObject, then: str) -> None:
        name = data.draw(st.sampled_from([n for n in self._files() if self.model[n] is not None]), label="file")
        state = self.model[name]
        assert state is not None
        variant = data.draw(st.sampled_from([v for v in self.slots[name].variants if v != state[1]]), label="variant")
        self._set(name, (state[0], variant))
        self._then(then, data)

    @precondition(lambda self: any(self.model[n] is None for n in self._files()))
    @rule(data=st.data(), then=THEN)
    def add(self, data: st.DataObject, then: str) -> None:
        name = data.draw(st.sampled_from([n for n in self._files() if self.model[n] is None]), label="file")
        self._set(name, (True, data.draw(st.sampled_from(self.slots[name].variants), label="variant")))
        self._then(then, data)

    @precondition(lambda self: any(self.model[n] is not None and not self.slots[n].fixed for n in self._files()))
    @rule(data=st.data(), then=THEN)
    def delete(self, data: st.DataObject, then: str) -> None:
        name = data.draw(st.sampled_from([n for n in self._files()
                                          if self.model[n] is not None and not self.slots[n].fixed]), label="file")
        self._set(name, None)
        self._then(then, data)

    @precondition(lambda self: any(self.model[n] is not None and self.slots[n].renamed for n in self._files()))
    @rule(data=st.data(), then=THEN)
    def rename(self, data: st.DataObject, then: str) -> None:
        name = data.draw(st.sampled_from([n for n in self._files()
                                          if self.model[n] is not None and self.slots[n].renamed]), label="file")
        state = self.model[name]
        assert state is not None
        self._set(name, (not state[0], state[1]))
        self._then(then, data)

    @rule(data=st.data(), then=THEN)
    def swap_wrapper(self, data: st.DataObject, then: str) -> None:
        """Another wrapper script (or none) earlier on PATH: the same tool by name and version."""
        self._set(self.wrapper, data.draw(st.sampled_from(self._changes(self.wrapper)), label="wrapper"))
        self._then(then, data)

    # -- rules: building -----------------------------------------------------------------------

    @rule(data=st.data())
    def compile(self, data: st.DataObject) -> None:
        option = data.draw(st.sampled_from(sorted(self.options)), label="options")
        outcome, hit = self._compile(option)
        self.check(outcome, option, f"compile ({option}, {'hit' if hit else 'built'})")

    @rule(data=st.data())
    def compile_no_cache(self, data: st.DataObject) -> None:
        option = data.draw(st.sampled_from(sorted(self.options)), label="options")
        outcome, hit = self._compile(option, use_cache=False)
        assert not hit
        self.check(outcome, option, f"compile --no-cache ({option})")

    @rule(data=st.data())
    def compile_while_editing(self, data: st.DataObject) -> None:
        """A file changed as the build begins (before the compiler reads it)."""
        self._edit_while_building(data, "during")

    @rule(data=st.data())
    def compile_while_editing_and_reverting(self, data: st.DataObject) -> None:
        """A file changed as the build begins and changed back before it ends (the build saw a
        state that is gone)."""
        self._edit_while_building(data, "during, reverted after")

    @rule(data=st.data())
    def compile_then_edit_before_it_ends(self, data: st.DataObject) -> None:
        """A file changed after the compiler read it, before wasmrun records the build."""
        self._edit_while_building(data, "after")

    @precondition(lambda self: (self.world / self.movable_dir).is_dir())
    @rule(data=st.data())
    def compile_while_a_directory_is_away(self, data: st.DataObject) -> None:
        """A directory of sources or headers renamed away as the build begins and back before it
        ends: the build did not see what is in it, and the files keep their change times."""
        option = data.draw(st.sampled_from(sorted(self.options)), label="options")
        use_cache = data.draw(st.booleans(), label="use_cache")  # --no-cache: the build runs, and is stored
        directory = self.world / self.movable_dir
        away = directory.with_name(directory.name + ".away")

        def go() -> None:
            directory.rename(away)

        def come_back() -> None:
            away.rename(directory)

        self.hook.during, self.hook.after = go, come_back
        try:
            self._compile(option, use_cache=use_cache, mid_build=True)
        finally:
            self.hook.during = self.hook.after = None
            self.last_write = time.monotonic()
        type(self).stats["edits while building"] += 1
        settle()
        outcome, hit = self._compile(option)
        self.check(outcome, option, f"compile after one that saw {self.movable_dir} away ({'hit' if hit else 'built'})")

    def _edit_while_building(self, data: st.DataObject, when: str) -> None:
        name = data.draw(st.sampled_from(list(self.slots)), label="file")
        old = self.model[name]
        new = data.draw(st.sampled_from(self._changes(name)), label="change")
        option = data.draw(st.sampled_from(sorted(self.options)), label="options")
        use_cache = data.draw(st.booleans(), label="use_cache")  # --no-cache: the build runs, and is stored
        before = self.uncached(option) if when == "after" else None

        def change() -> None:
            self._set(name, new)

        def revert() -> None:
            self._set(name, old)

        self.hook.during = change if when.startswith("during") else None
        self.hook.after = revert if when == "during, reverted after" else change if when == "after" else None
        try:
            outcome, _ = self._compile(option, use_cache=use_cache, mid_build=True)
        finally:
            self.hook.during = self.hook.after = None
        type(self).stats["edits while building"] += 1
        if when == "during":
            self.check(outcome, option, f"compile with {name} changed as it began")
        elif when == "after":  # the compiler read the state before; a post-processor may read the one after
            after = self.uncached(option)
            assert outcome in (before, after), (f"compile with {name} changed after the compiler ran: got "
                                                f"{outcome.describe()}, cache off gives {after.describe()} "
                                                f"(before the change: {before and before.describe()})")
        # reverted: the build saw a state that is gone. In every case the next compile, once the
        # edits have settled, gives the build of the state then: nothing the build saw was stored
        # as the build of another state.
        settle()
        outcome, hit = self._compile(option)
        self.check(outcome, option, f"compile after one that saw {name} change ({when}; {'hit' if hit else 'built'})")

    @precondition(lambda self: self.cli_runs < 2)
    @rule()
    def exec_project_cli(self) -> None:
        """``python -m wasmrun exec PROJECT`` (the typer-free route in a fresh interpreter)."""
        self.cli_runs += 1
        type(self).stats["exec through the CLI"] += 1
        want = self.uncached("default")
        proc = subprocess.run([sys.executable, "-m", "wasmrun", "exec", str(self.project)], capture_output=True,
                              text=True, timeout=300, check=False)
        self.stored.setdefault("default", []).insert(0, object())  # it may have stored a build
        if want.error:
            assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
            return
        assert (proc.returncode, proc.stdout) == (0, self.expected_stdout()), proc.stderr
        placed = (self.out / self.wasm_name).read_bytes()
        assert Outcome({self.wasm_name: placed}) == Outcome({self.wasm_name: want.files[self.wasm_name]})

    @rule()
    def exec_project(self) -> None:
        """``exec PROJECT`` in this process, through the typer-free route's own function."""
        want = self.uncached("default")
        state = self.state_key("default")
        settled = self._settled()
        expect_hit = self._expect_hit("default", state)
        differences = self._candidate_differences("default") if expect_hit else []
        self.log.lines.clear()
        try:
            wasm = _built_module(self.project)
        except WasmrunError as exc:
            assert want.error == type(exc).__name__, f"exec PROJECT failed ({exc}); cache off: {want.describe()}"
            return
        hit = not self.log.lines  # the manifest answered before any compile ran
        got = Outcome({self.wasm_name: wasm.read_bytes()})
        self._account("default", state, got, hit, settled=settled, mid_build=False, expect_hit=expect_hit,
                      differences=differences)
        assert not want.error, f"exec PROJECT gave a module; cache off: {want.describe()}"
        assert got == Outcome({self.wasm_name: want.files[self.wasm_name]}), "exec PROJECT ran another module"
        assert run_wasm(wasm).stdout == self.expected_stdout()

    @precondition(lambda self: (self.out / self.wasm_name).exists())
    @rule()
    def clean(self) -> None:
        clean_project(self.project, self.plain)
        assert not (self.out / self.wasm_name).exists()

    @invariant()
    def count_steps(self) -> None:
        type(self).stats["checks"] += 1


# -- a C project: clang, headers everywhere, CPATH, a clang wrapper -------------------------------

def _has(header: str, macro: str) -> str:
    return f'#if __has_include("{header}")\n#include "{header}"\n#else\n#define {macro} "-"\n#endif\n'


def c_main(v: int) -> str:
    return ('#include <stdio.h>\n#include "../shared/x.h"\n'
            + _has("part.inc", "PART") + _has(".hidden/h.h", "HIDDEN") + _has("target/t.h", "TARGET")
            + _has("../shared/y.h", "SHARED_Y")
            + '#if __has_include(<wr_cpath.h>)\n#include <wr_cpath.h>\n#else\n#define CPATH_WORD "-"\n#endif\n'
            '#ifndef VARIANT\n#define VARIANT 0\n#endif\n'
            'int main(void) {\n'
            f'    printf("m{v} %s %s %s %s %s %s %d\\n",\n'
            '           SHARED, PART, HIDDEN, TARGET, SHARED_Y, CPATH_WORD, VARIANT);\n'
            '    return 0;\n}\n')


def _define(macro: str, prefix: str) -> Callable[[int], str]:
    return lambda v: f'#define {macro} "{prefix}{v}"\n'


def _extra_c(v: int) -> str:
    return f'#include <stdio.h>\n__attribute__((constructor)) static void extra(void) {{ puts("x{v}"); }}\n'


REAL_CLANG = shutil.which("clang") or "clang"


def _clang_wrapper(v: int) -> str:
    return f'#!/bin/sh\nexec {REAL_CLANG} -DVARIANT={v} "$@"\n'


class CProject(CacheMachine):
    project_name = "cproj"
    wasm_name = "cproj.wasm"
    movable_dir = "cproj/.hidden"
    wrapper = "wrapper"
    options: ClassVar[dict[str, dict[str, Any]]] = {"default": {}, "no-opt": {"optimize": False}}
    slots: ClassVar[dict[str, Slot]] = {
        "main": Slot("cproj/main.c", None, c_main, fixed=True),
        "part": Slot("cproj/part.inc", "cproj/part.inc.off", _define("PART", "p")),  # an extension no plugin lists
        "hidden": Slot("cproj/.hidden/h.h", "cproj/.stash/h.h", _define("HIDDEN", "h")),
        "target": Slot("cproj/target/t.h", "cproj/target/t.h.off", _define("TARGET", "t")),  # a build-named dir
        "extra": Slot("cproj/extra.c", "cproj/extra.c.off", _extra_c),  # a second source
        "shared": Slot("shared/x.h", None, _define("SHARED", "s"), fixed=True),  # ../shared/x.h
        "shared_y": Slot("shared/y.h", "shared/y.h.off", _define("SHARED_Y", "y")),
        "cpath_a": Slot("incA/wr_cpath.h", None, _define("CPATH_WORD", "a"), fixed=True),
        "cpath_b": Slot("incB/wr_cpath.h", None, _define("CPATH_WORD", "b"), fixed=True),
        "wrapper": Slot("bin/clang", None, _clang_wrapper, (1, 2, 3), executable=True),
    }

    @rule(value=st.sampled_from([None, "incA", "incB"]))
    def set_cpath(self, value: str | None) -> None:
        """An environment variable the compiler reads."""
        if value is None:
            os.environ.pop("CPATH", None)
        else:
            os.environ["CPATH"] = str(self.world / value)

    def expected_stdout(self) -> str:
        def word(name: str, prefix: str) -> str:
            variant = self._variant(name)
            return "-" if variant is None else f"{prefix}{variant}"

        cpath = os.environ.get("CPATH")
        where = None if cpath is None else Path(cpath).name
        cpath_word = {"incA": word("cpath_a", "a"), "incB": word("cpath_b", "b")}.get(where or "", "-")
        line = " ".join([word("main", "m"), word("shared", "s"), word("part", "p"), word("hidden", "h"),
                         word("target", "t"), word("shared_y", "y"), cpath_word, str(self._variant("wrapper") or 0)])
        return (f"{word('extra', 'x')}\n" if self._present("extra") else "") + line + "\n"


# -- a WAT project: several modules, files that are no input, a wasm-opt wrapper ------------------

def wat_main(v: int) -> str:
    return ('(module\n'
            '  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))\n'
            '  (memory (export "memory") 1)\n'
            f'  (data (i32.const 16) "w{v}\\n")\n'
            '  (func $len (result i32) (i32.add (i32.const 1) (i32.const 2)))\n'
            '  (func $main (export "_start")\n'
            '    (i32.store (i32.const 0) (i32.const 16))\n'
            '    (i32.store (i32.const 4) (call $len))\n'
            '    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))\n')


def _wat_lib(v: int) -> str:
    if v == 9:
        return '(module (func (export "k") (result i32) (i32.const\n'
    return f'(module (func (export "k") (result i32) (i32.add (i32.const {v}) (i32.const 40))))\n'


REAL_WASM_OPT = shutil.which("wasm-opt") or "wasm-opt"


def _wasm_opt_wrapper(v: int) -> str:
    level = {1: "0", 2: "1", 3: "s"}[v]
    return ('#!/bin/sh\n'
            f'for a do shift; if [ "$a" = -O3 ]; then set -- "$@" -O{level}; else set -- "$@" "$a"; fi; done\n'
            f'exec {REAL_WASM_OPT} "$@"\n')


class WatProject(CacheMachine):
    project_name = "wproj"
    wasm_name = "main.wasm"
    movable_dir = "wproj/src"
    wrapper = "wrapper"
    options: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {}, "no-opt": {"optimize": False}, "size": {"optimization": Optimization.SIZE}}
    slots: ClassVar[dict[str, Slot]] = {
        "main": Slot("wproj/main.wat", None, wat_main, (0, 1, 2, 3), fixed=True),
        "lib": Slot("wproj/src/lib.wat", "wproj/src/lib.wat.off", _wat_lib, (0, 1, 2, 9)),
        "extra": Slot("wproj/extra.wat", "wproj/attic/extra.wat",
                      lambda v: f'(module (global (export "g") i32 (i32.const {100 + v})))\n'),
        "notes": Slot("wproj/notes.inc", "wproj/.hidden/notes.inc", lambda v: f"notes {v}\n"),  # read by nothing
        "wrapper": Slot("bin/wasm-opt", None, _wasm_opt_wrapper, (1, 2, 3), executable=True),
    }

    def expected_stdout(self) -> str:
        return f"w{self._variant('main')}\n"


# -- the tests -------------------------------------------------------------------------------------

def run_machine(machine: type[CacheMachine], base: Path, *, examples: int, steps: int) -> dict[str, int]:
    machine.base = base
    machine.cache_off_builds = {}
    machine.stats = dict.fromkeys(["examples", "checks", "hits", "builds", "stored", "used once, not stored",
                                   "errors", "edits while building", "exec through the CLI", "cache-off builds",
                                   "misses tolerated (a file outside the test changed)"], 0)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck)))
    stats = dict(machine.stats)
    stats["steps"] = stats["checks"] - stats["examples"]  # the invariant runs once before the first step
    print(stats)  # shown with -s: what the run covered
    return stats


def test_wat_project_cache_matches_cache_off_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("wasm-opt")
    monkeypatch.setenv("PATH", os.environ["PATH"])  # restored after the run, whatever happens
    monkeypatch.delenv("CPATH", raising=False)
    stats = run_machine(WatProject, tmp_path, examples=8, steps=26)
    assert stats["steps"] >= 200
    assert stats["hits"] > 0 and stats["stored"] > 0 and stats["edits while building"] > 0


@pytest.mark.slow
def test_c_project_cache_matches_cache_off_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_tool("clang")
    monkeypatch.setenv("PATH", os.environ["PATH"])  # restored after the run, whatever happens
    monkeypatch.delenv("CPATH", raising=False)
    stats = run_machine(CProject, tmp_path, examples=4, steps=26)
    assert stats["steps"] >= 100
    assert stats["hits"] > 0 and stats["stored"] > 0 and stats["edits while building"] > 0
