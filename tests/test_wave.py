"""WAVE values (wasmrun.wasm.wave): printing then parsing gives the value back, for generated
types and values; arbitrary text gives a value or one WaveError line, never anything else."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wasmrun.errors import EXIT_USAGE
from wasmrun.wasm import wit
from wasmrun.wasm.wave import Case, WaveError, core_call_words, parse_call, parse_value, print_value
from wasmrun.wasm.wit import WitType

# labels include the words a printer has to escape (%none, %ok ...)
LABELS = st.one_of(st.from_regex(r"[a-z][a-z0-9]{0,5}(-[a-z][a-z0-9]{0,3}){0,2}", fullmatch=True),
                   st.sampled_from(["true", "false", "some", "none", "ok", "err", "inf", "nan", "A-B"]))
INT_KINDS = ["s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64"]


def _unique_labels(min_size: int = 1) -> st.SearchStrategy[list[str]]:
    return st.lists(LABELS, min_size=min_size, max_size=3, unique=True)


def types() -> st.SearchStrategy[WitType]:
    leaves = st.sampled_from([*wit.PRIMITIVES]).map(WitType)
    enums = _unique_labels().map(lambda names: wit.enum("e", names))
    flag_types = _unique_labels(0).map(lambda names: wit.flags("f", names))

    def compound(inner: st.SearchStrategy[WitType]) -> st.SearchStrategy[WitType]:
        optional = st.one_of(st.none(), inner)
        return st.one_of(
            inner.map(wit.list_of),
            inner.map(wit.option_of),
            st.tuples(optional, optional).map(lambda p: wit.result_of(*p)),
            st.lists(inner, min_size=1, max_size=2).map(lambda items: wit.tuple_of(*items)),
            _unique_labels().flatmap(lambda names: st.tuples(*[inner for _ in names]).map(
                lambda ts: wit.record("r", zip(names, ts, strict=True)))),
            _unique_labels().flatmap(lambda names: st.tuples(*[optional for _ in names]).map(
                lambda ts: wit.variant("v", zip(names, ts, strict=True)))),
        )

    return st.recursive(st.one_of(leaves, enums, flag_types), compound, max_leaves=4)


def values(t: WitType) -> st.SearchStrategy[Any]:
    kind = t.kind
    if kind == "bool":
        return st.booleans()
    if kind in INT_KINDS:
        bits = int(kind[1:])
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if kind[0] == "s" else (0, (1 << bits) - 1)
        return st.integers(low, high)
    if kind == "f32":
        return st.floats(width=32)
    if kind == "f64":
        return st.floats()
    if kind == "char":
        return st.characters()
    if kind == "string":
        return st.text(max_size=8)
    if kind == "list":
        return st.lists(values(t.element), max_size=2)
    if kind == "option":
        return st.one_of(st.just(Case("none")), values(t.element).map(lambda v: Case("some", v)))
    if kind == "tuple":
        return st.tuples(*(values(i) for i in t.items))
    if kind == "record":
        return st.tuples(*(values(ft) for _, ft in t.cases if ft)).map(
            lambda vs: dict(zip([n for n, _ in t.cases], vs, strict=True)))
    if kind == "flags":
        return st.sets(st.sampled_from(t.case_names())).map(frozenset) if t.cases else st.just(frozenset())
    return st.one_of(*[st.just(Case(n)) if p is None else values(p).map(lambda v, n=n: Case(n, v))
                       for n, p in t.cases])


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN (and -0.0 told from 0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, Case) and isinstance(b, Case):
        return a.name == b.name and same(a.payload, b.payload)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_print_then_parse_gives_the_value_back(data: st.DataObject) -> None:
    t = data.draw(types())
    value = data.draw(values(t))
    text = print_value(value, t)
    assert "\n" not in text
    back = parse_value(text, t)
    assert same(back, value), (text, back, value)
    assert print_value(back, t) == text


@settings(max_examples=200, deadline=None)
@given(st.data(), st.text(max_size=40))
def test_arbitrary_text_parses_or_fails_with_one_line(data: st.DataObject, text: str) -> None:
    t = data.draw(types())
    try:
        value = parse_value(text, t)
    except WaveError as exc:
        assert exc.exit_code == EXIT_USAGE
        assert "\n" not in exc.message and exc.message
    else:
        assert same(parse_value(print_value(value, t), t), value)


@settings(max_examples=200, deadline=None)
@given(st.data(), st.text(max_size=30))
def test_arbitrary_calls_parse_or_fail_with_one_line(data: st.DataObject, text: str) -> None:
    params = [("p", data.draw(types())), ("q", data.draw(types()))]
    for call in (text, f"f({text})", f"f({text}, {text})"):
        try:
            parse_call(call, params, "f")
        except WaveError as exc:
            assert exc.message and "\n" not in exc.message


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mangled_values_fail_with_one_line(data: st.DataObject) -> None:
    """A printed value cut short or with a character changed: a value or a WaveError, nothing else."""
    t = data.draw(types())
    text = print_value(data.draw(values(t)), t)
    cut = data.draw(st.integers(0, len(text)))
    changed = data.draw(st.sampled_from(list("{}[]()\"',:%-.9ax \\")))
    for mangled in (text[:cut], text[:cut] + changed + text[cut + 1:]):
        try:
            parse_value(mangled, t)
        except WaveError as exc:
            assert "\n" not in exc.message


ITEM = wit.record("item", [("name", WitType("string")), ("qty", WitType("u32")),
                           ("note", wit.option_of(WitType("string")))])
SHAPE = wit.variant("shape", [("circle", WitType("f64")), ("rect", wit.tuple_of(WitType("f64"), WitType("f64"))),
                              ("point", None)])


@pytest.mark.parametrize(("text", "t", "expected"), [
    ("42", WitType("u8"), 42),
    ("-7", WitType("s64"), -7),
    ("1.5e3", WitType("f64"), 1500.0),
    ("-inf", WitType("f32"), -math.inf),
    ("'\\u{1F600}'", WitType("char"), "\U0001F600"),
    ('"a\\tb\\"c"', WitType("string"), 'a\tb"c'),
    ('{qty: 2, name: "x"}', ITEM, {"name": "x", "qty": 2, "note": Case("none")}),  # any order; option left out
    ("[1, 2, 3,]", wit.list_of(WitType("u16")), [1, 2, 3]),
    ("rect((2, 3))", SHAPE, Case("rect", (2.0, 3.0))),
    ("point", SHAPE, Case("point")),
    ("5", wit.option_of(WitType("u8")), Case("some", 5)),  # a bare option value
    ("7", wit.result_of(WitType("s32"), WitType("string")), Case("ok", 7)),
    ("err", wit.result_of(None, None), Case("err")),
    ("{read, exec}", wit.flags("perms", ["read", "write", "exec"]), frozenset({"read", "exec"})),
    ("%none", wit.enum("e", ["none", "some"]), Case("none")),
    ("some(none)", wit.option_of(wit.option_of(WitType("u8"))), Case("some", Case("none"))),
    ("  true // a comment\n", WitType("bool"), True),
])
def test_wave_examples(text: str, t: WitType, expected: Any) -> None:
    assert same(parse_value(text, t), expected)


@pytest.mark.parametrize(("text", "t", "message"), [
    ("256", WitType("u8"), "256 is out of range for u8 (0 to 255)"),
    ('"x"', WitType("s32"), "expected s32 (a number)"),
    ("1.5", WitType("s32"), "expected s32 (an integer)"),
    ("'ab'", WitType("char"), "expected char (one character"),
    ('{name: "x"}', ITEM, "record item needs field 'qty'"),
    ('{name: "x", qty: 1, colour: 2}', ITEM, "record item has no field 'colour'"),
    ("square", SHAPE, "expected shape (one of circle, rect, point)"),
    ("circle", SHAPE, "expected '(' after case 'circle' of shape (it takes a f64)"),
    ("{read, delete}", wit.flags("perms", ["read", "write"]), "expected one of the flags of perms (read, write)"),
    ("1e40", WitType("f32"), "out of range for f32"),
    ('"\\u{d800}"', WitType("string"), "is not a Unicode scalar value"),
    ("[1, 2", wit.list_of(WitType("u8")), "expected ']' after a member of list<u8>"),
    ("1 2", WitType("u8"), "unexpected '2' after the value"),
    ("9" * 5000, WitType("u64"), "out of range for u64"),
])
def test_wave_errors_name_the_type(text: str, t: WitType, message: str) -> None:
    with pytest.raises(WaveError) as caught:
        parse_value(text, t, "argument 'x' of f")
    assert message in caught.value.message
    assert caught.value.message.startswith("argument 'x' of f: ")


def test_printing() -> None:
    assert print_value(Case("some", 1), wit.option_of(WitType("u8"))) == "some(1)"
    assert print_value(Case("ok"), wit.result_of(None, WitType("string"))) == "ok"
    assert print_value(3.0, WitType("f64")) == "3"
    assert print_value(0.1, WitType("f32")) == "0.1"
    largest_f32 = 3.4028234663852886e38
    assert print_value(largest_f32, WitType("f32")) == "3.4028235e38"
    assert parse_value("3.4028235e38", WitType("f32")) == largest_f32
    assert print_value(1e-7, WitType("f64")) == "1e-7"
    assert print_value(Case("none"), wit.enum("e", ["none"])) == "%none"
    assert print_value("\x00\n", WitType("string")) == '"\\u{0}\\n"'
    assert print_value({"name": "x", "qty": 2, "note": Case("none")}, ITEM) == '{name: "x", qty: 2, note: none}'


def test_calls() -> None:
    params = [("a", WitType("s32")), ("s", SHAPE)]
    assert parse_call("f(1, rect((1, 2)),)", params, "f") == [1, Case("rect", (1.0, 2.0))]
    with pytest.raises(WaveError, match=r"f\(a: s32, s: shape\) takes 2 argument\(s\), got 1"):
        parse_call("f(1)", params, "f")
    with pytest.raises(WaveError, match="more were given"):
        parse_call("f(1, point, 3)", params, "f")
    assert core_call_words("add(1, 0x10)", 2, "add") == ["1", "0x10"]
    with pytest.raises(WaveError, match="takes 2 argument"):
        core_call_words("add(1)", 2, "add")


def test_world_text_of_resources_and_plain_interfaces() -> None:
    """Resource methods, constructors and static functions print inside their resource; an
    interface with a plain name is written inline in the world."""
    counter = WitType("resource", name="counter")
    own = WitType("own", name="counter")
    interface = wit.Interface("test:count/api@1.0.0", types=[("counter", counter)], functions=[
        wit.Function("[constructor]counter", (("start", WitType("u32")),), own),
        wit.Function("[method]counter.bump", (("self", WitType("borrow", name="counter")), ("by", WitType("u32")))),
        wit.Function("[static]counter.zero", (), own),
        wit.Function("total", (("c", WitType("borrow", name="counter")),), WitType("u64")),
    ])
    local = wit.Interface("helpers", functions=[wit.Function("ping", (), None)])
    text = wit.world_text(wit.World(exports=[interface, local]))
    assert text == (
        "package root:component;\n\nworld root {\n  export test:count/api@1.0.0;\n  export helpers: interface {\n"
        "    ping: func();\n  }\n}\n\npackage test:count@1.0.0 {\n  interface api {\n    resource counter {\n"
        "      constructor(start: u32);\n      bump: func(by: u32);\n      zero: static func() -> counter;\n    }\n"
        "    total: func(c: borrow<counter>) -> u64;\n  }\n}\n")
