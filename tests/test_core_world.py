"""The world generated from a core module's exports: WIT names, the added export names, and what
is left out; property tests over generated names, plus hostile cases."""

from __future__ import annotations

import string

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from wasmrun.wasm.core_world import generate_world, is_wit_name, wit_name, with_aliases
from wasmrun.wasm.reader import WasmModule
from wasmrun.wasm.sections import encode_uleb128, read_uleb128

NAME_CHARS = string.ascii_letters + string.digits + "_-.$ "


@pytest.mark.parametrize(("core", "wit"), [
    ("add", "add"), ("scale_by", "scale-by"), ("scaleBy", "scale-by"), ("add_2", "add2"), ("HTTP-get", "HTTP-get"),
    ("getURL", "get-url"), ("x.y", "x-y"), ("2fast", None), ("__", None), ("", None), ("é", None),
])
def test_wit_names(core: str, wit: str | None) -> None:
    assert wit_name(core) == wit


@given(st.text(alphabet=NAME_CHARS, max_size=24))
def test_a_wit_name_is_always_valid_or_none(name: str) -> None:
    result = wit_name(name)
    assert result is None or is_wit_name(result)
    if is_wit_name(name):
        assert result == name


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_uleb128_round_trip(value: int) -> None:
    encoded = encode_uleb128(value)
    assert read_uleb128(encoded, 0) == (value, len(encoded))


def _module(names: list[str]) -> bytes:
    funcs = "\n".join(f'(func (export "{n}") (param i32) (result i32) (local.get 0))' for n in names)
    return wasmtime.wat2wasm(f'(module (memory (export "memory") 1) {funcs})')


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=12), min_size=1, max_size=6,
                unique=True))
def test_the_generated_world_matches_the_aliased_module(names: list[str]) -> None:
    data = _module(names)
    world = generate_world(WasmModule(data), "lib")
    aliased = with_aliases(data, world.aliases)
    wasmtime.Module.validate(wasmtime.Engine(), aliased)  # still a valid module
    exported = {e.name for e in WasmModule(aliased).exports}
    assert {e.name for e in WasmModule(data).exports} <= exported  # the old names stay
    declared = [line.split("%", 1)[1].split(":", 1)[0] for line in world.wit.splitlines() if "export %" in line]
    assert set(declared) <= exported  # every world function is a core export under its WIT name
    assert len(declared) + len(world.skipped) + sum(n.startswith("_") for n in names) == len(names)


def test_hostile_exports_are_left_out_with_reasons() -> None:
    data = wasmtime.wat2wasm("""(module
      (func (export "v") (param v128))
      (func (export "r") (param externref))
      (func (export "two") (result i32 i64) (i32.const 0) (i64.const 0))
      (func (export "a_b") (result i32) (i32.const 1))
      (func (export "a-b") (result i32) (i32.const 2))
      (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "_start")))""")
    world = generate_world(WasmModule(data), "9 lives")
    assert world.name == "library"  # a directory name that is no WIT name
    assert world.skipped == {"v": "a v128 has no WIT type", "r": "a externref has no WIT type",
                             "two": "it returns several values",
                             "a_b": "no WIT name for it (a-b is taken or invalid)"}
    assert "export %a-b: func() -> s32;" in world.wit
    assert world.aliases == {}
