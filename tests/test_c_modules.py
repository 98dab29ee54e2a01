"""Choosing one module of several (Makefile and CMake routes), naming them, and reading CMake's
file API reply: properties over any names, plus hostile inputs. No toolchain needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wasmrun.errors import BuildError, UsageError
from wasmrun.languages.c import cmake, makefile, modules

NAMES = st.text(alphabet="abcdefgh-_.0", min_size=1, max_size=6).filter(lambda n: not n.endswith(".wasm"))


@given(candidates=st.dictionaries(NAMES, st.integers(), min_size=1, max_size=6),
       setting=st.one_of(st.none(), NAMES), preferred=st.lists(NAMES, max_size=4))
def test_choose_is_the_setting_else_the_only_else_the_preferred_else_one_line_listing_all(
        candidates: dict[str, int], setting: str | None, preferred: list[str]) -> None:
    try:
        chosen = modules.choose(candidates, made_by="make wasm", setting=setting, preferred=preferred)
    except UsageError as exc:
        message = exc.message
        assert "\n" not in message
        assert ", ".join(sorted(candidates)) in message
        if setting is None:
            assert len(candidates) > 1 and not any(p in candidates for p in preferred)
            assert 'module = "NAME" in wasmrun.toml' in message
        else:
            assert setting not in candidates
        return
    if setting is not None:
        assert chosen == candidates[setting]
    elif len(candidates) == 1:
        assert chosen == next(iter(candidates.values()))
    else:
        assert chosen == candidates[next(p for p in preferred if p in candidates)]


def test_the_setting_may_name_the_file() -> None:
    assert modules.choose({"client": 1, "server": 2}, made_by="CMake", setting="server.wasm", preferred=[]) == 2


@given(st.lists(st.lists(st.sampled_from(["a", "b", "out", "web"]), min_size=1, max_size=3), min_size=1, max_size=8,
                unique_by=tuple))
def test_every_module_gets_its_own_name(parts: list[list[str]]) -> None:
    project = Path("/p")
    built = [project.joinpath(*p[:-1], p[-1] + ".wasm") for p in parts]
    names = makefile._by_name(built, project)
    assert sorted(names.values()) == sorted(built)  # none lost, none doubled
    for name, path in names.items():
        assert name == path.stem or name == path.relative_to(project).with_suffix("").as_posix()


def test_changed_sources_stay_inputs_new_and_rebuilt_outputs_are_written() -> None:
    root = Path("/p")
    before = {root / "main.c": (1, 10, 1), root / "main.o": (1, 5, 2), root / "Makefile": (1, 3, 3)}
    after = {root / "main.c": (2, 11, 1), root / "main.o": (2, 6, 2), root / "Makefile": (2, 3, 3),
             root / "main.wasm": (2, 100, 4), root / "gen.c": (2, 1, 5)}
    written = makefile.changed_files(root, before, after)
    assert sorted(written) == [root / "gen.c", root / "main.o", root / "main.wasm"]


@pytest.mark.parametrize("index", ["", "{", '{"reply": {}}', '{"reply": {"codemodel-v2": {"jsonFile": "gone.json"}}}'])
def test_a_corrupt_file_api_reply_is_a_build_error(tmp_path: Path, index: str) -> None:
    reply = tmp_path / ".cmake" / "api" / "v1" / "reply"
    reply.mkdir(parents=True)
    (reply / "index-2026-01-01T00-00-00-0000.json").write_text(index)
    with pytest.raises(BuildError, match="CMake's file API reply"):
        cmake._Reply(tmp_path)


def test_no_file_api_reply_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no file API reply"):
        cmake._Reply(tmp_path)
