"""The page's WAVE (wasmrun/server/static/wave.js) against wasmrun's own (wasmrun.wasm.wave), in
Node: values Python prints read back and print the same; arbitrary text gives the same value or
the same one-line error in both; hostile text is one WaveError, quickly; and the JavaScript
values are the ones jco's glue takes and returns. One Node process answers every case."""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import wasmrun.server
from tests.test_wave import types, values
from wasmrun.testing import require_tool
from wasmrun.wasm import wit
from wasmrun.wasm.wave import WaveError, parse_value, print_value
from wasmrun.wasm.wit import WitType, type_tree

#: the installed package's (CI tests a built wheel)
WAVE_JS = Path(wasmrun.server.__file__).with_name("static") / "wave.js"
#: How long one answer may take: a hang (a parser loop that does not advance) fails the test.
ANSWER_S = 10.0

HARNESS = r"""
import { createInterface } from "node:readline";
const wave = await import(process.argv[2]);

// JSON for a JavaScript value, saying what JSON cannot: BigInt, typed arrays, undefined, NaN
function describe(value) {
  if (typeof value === "bigint") return { bigint: String(value) };
  if (value === undefined) return { undefined: true };
  if (typeof value === "number" && !Number.isFinite(value)) return { number: String(value) };
  if (ArrayBuffer.isView(value)) return { [value.constructor.name]: Array.from(value, describe) };
  if (Array.isArray(value)) return value.map(describe);
  if (value !== null && typeof value === "object") {
    return { object: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)])) };
  }
  return value;
}

function revive(json) {
  if (Array.isArray(json)) return json.map(revive);
  if (json === null || typeof json !== "object") return json;
  if ("bigint" in json) return BigInt(json.bigint);
  if ("undefined" in json) return undefined;
  if ("number" in json) return Number(json.number);
  if ("object" in json) return Object.fromEntries(Object.entries(json.object).map(([k, v]) => [k, revive(v)]));
  const [name, items] = Object.entries(json)[0];
  return globalThis[name].from(items.map(revive));
}

function answer(request) {
  switch (request.op) {
    case "round-trip": return { text: wave.printValue(wave.parseValue(request.text, request.type), request.type) };
    case "parse": return { value: describe(wave.parseValue(request.text, request.type)) };
    case "print": return { text: wave.printValue(revive(request.value), request.type) };
    case "outcome": {
      const call = () => {
        if (request.returns !== undefined) return revive(request.returns);
        if (request.throws === "component-error") {  // as jco 1.12.0's glue throws an err
          const error = new Error("(see error.payload)");
          Object.defineProperty(error, "payload", { value: revive(request.payload) });
          throw error;
        }
        if (request.throws === "payload") throw revive(request.payload);  // as jco-transpile's glue does
        if (request.throws === "exit") throw Object.assign(new Error("exit"), { exitError: true, code: 3 });
        throw new WebAssembly.RuntimeError("unreachable");
      };
      return { text: wave.printOutcome(call, request.type) };
    }
    default: throw new Error(`unknown op ${request.op}`);
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  let reply;
  try {
    reply = answer(JSON.parse(line));
  } catch (error) {
    reply = { error: String(error?.message ?? error), name: error?.name ?? typeof error,
              wave: error instanceof wave.WaveError };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
"""


class NodeWave:
    """wave.js in one Node process: a request a line, an answer a line."""

    def __init__(self, workdir: Path) -> None:
        module = workdir / "wave.mjs"  # .mjs: an ES module whatever Node's defaults
        module.write_text(WAVE_JS.read_text(encoding="utf-8"), encoding="utf-8")
        harness = workdir / "harness.mjs"
        harness.write_text(HARNESS, encoding="utf-8")
        self.proc = subprocess.Popen(["node", str(harness), module.as_uri()], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pending = b""

    def ask(self, **request: Any) -> dict[str, Any]:
        return self.ask_line(json.dumps(request))

    def ask_line(self, request: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(request.encode() + b"\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + ANSWER_S
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            assert left > 0, f"wave.js gave no answer within {ANSWER_S} s to {request!r:.200}"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                assert chunk, f"node exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return dict(json.loads(line))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeWave]:
    require_tool("node")
    runner = NodeWave(tmp_path_factory.mktemp("wave-js"))
    try:
        yield runner
    finally:
        runner.close()


def camel(name: str) -> str:
    words = name.split("-")
    return words[0].lower() + "".join(w[:1].upper() + w[1:].lower() for w in words[1:])


def js_keys_distinct(t: WitType) -> bool:
    """Record fields and flags stay apart as jco's keys (WIT forbids names that differ in case only)."""
    if t.kind in ("record", "flags"):
        names = [camel(name) for name, _ in t.cases]
        if len(set(names)) != len(names):
            return False
    return all(js_keys_distinct(i) for i in t.items) and all(js_keys_distinct(c) for _, c in t.cases if c)


def python_outcome(text: str, t: WitType) -> dict[str, Any]:
    """What wasmrun's own WAVE makes of ``text``: the value printed again, or the error line."""
    try:
        return {"text": print_value(parse_value(text, t), t)}
    except WaveError as exc:
        return {"error": exc.message}


def js_outcome(node: NodeWave, text: str, t: WitType) -> dict[str, Any]:
    reply = node.ask(op="round-trip", text=text, type=type_tree(t))
    if "error" in reply:
        assert reply["wave"], f"{text!r} as {t}: not a WaveError but {reply['name']}: {reply['error']}"
        assert "\n" not in reply["error"]
        return {"error": reply["error"]}
    return reply


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_what_python_prints_js_reads_and_prints_the_same(node: NodeWave, data: st.DataObject) -> None:
    t = data.draw(types())
    assume(js_keys_distinct(t))
    text = print_value(data.draw(values(t)), t)
    assert node.ask(op="round-trip", text=text, type=type_tree(t)) == {"text": text}


# text near WAVE's own: its punctuation, words, escapes, numbers, and characters Python's repr
# and isspace/isalnum treat alike in Python and V8 (code points below U+0300, and a few more)
NEAR_WAVE = st.one_of(
    st.sampled_from(["[", "]", "(", ")", "{", "}", ",", ":", "'", '"', "\\", "%", "-", ".", "_", "//", "\n", " ",
                     "some", "none", "ok", "err", "true", "false", "inf", "nan", "e", "E", "+", "1", "0", "7.5",
                     "\\u{", "\\u{1F600}", "\\u{d800}", "\\t", "a-b", "\u00a0", "\x1c", "\u00b2", "\U0001F600",
                     "\u20ac"]),
    st.characters(max_codepoint=0x2FF))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.lists(NEAR_WAVE, max_size=12).map("".join))
def test_any_text_gives_the_same_value_or_the_same_error_as_python(node: NodeWave, data: st.DataObject,
                                                                   text: str) -> None:
    t = data.draw(types())
    assume(js_keys_distinct(t))
    assert js_outcome(node, text, t) == python_outcome(text, t)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_printed_value_cut_short_or_damaged_fails_as_in_python(node: NodeWave, data: st.DataObject) -> None:
    t = data.draw(types())
    assume(js_keys_distinct(t))
    text = print_value(data.draw(values(t)), t)
    cut = data.draw(st.integers(0, len(text)))
    damaged = text[:cut] + data.draw(st.sampled_from(["", "]", ")", "}", ",", "(", "x", "\\", "'"])) + text[cut + 1:]
    assert js_outcome(node, damaged, t) == python_outcome(damaged, t)


S32 = wit.prim("s32")
DEEP_LIST = WitType("u8")
for _ in range(60):
    DEEP_LIST = wit.list_of(DEEP_LIST)
SAMPLE_RECORD = wit.record("item", [("name", wit.prim("string")), ("qty", wit.prim("u32"))])


@pytest.mark.parametrize(("text", "t"), [
    ("[1, 2", wit.list_of(S32)),
    ("[[[[[[[[", wit.list_of(wit.list_of(S32))),
    ("]", wit.list_of(S32)),
    ("(1, 2", wit.tuple_of(S32, S32)),
    ("(1, 2, 3)", wit.tuple_of(S32, S32)),
    ('{name: "x", qty: 2', SAMPLE_RECORD),
    ('{name: "x", name: "y", qty: 1}', SAMPLE_RECORD),
    ("some(some(1)", wit.option_of(wit.option_of(S32))),
    ("9" * 100_000, wit.prim("u64")),
    ("-" + "9" * 41, wit.prim("s64")),
    ("18446744073709551616", wit.prim("u64")),
    ("1e39", wit.prim("f32")),
    ("0x10", S32),
    ("1.5", S32),
    ('"\\q"', wit.prim("string")),
    ('"\\u{110000}"', wit.prim("string")),
    ('"\\u{d800}"', wit.prim("string")),
    ('"\\u{1234567}"', wit.prim("string")),
    ('"\\u{}"', wit.prim("string")),
    ('"abc\\', wit.prim("string")),
    ('"' + "a" * 200_000, wit.prim("string")),
    ("'ab'", wit.prim("char")),
    ("''", wit.prim("char")),
    ("{read, read}", wit.flags("perms", ["read", "write"])),
    ("purple", wit.enum("color", ["red", "green"])),
    ("%none", wit.option_of(S32)),
    ("ok(1", wit.result_of(S32, None)),
    ("err", wit.result_of(S32, wit.prim("string"))),
    ("[" * 200_000, DEEP_LIST),
    ("[" * 60 + "1" + "]" * 59, DEEP_LIST),
    ("[" * 61, DEEP_LIST),
    ("// only a comment", S32),
])
def test_hostile_text_is_one_waveerror_line_as_python_says_it(node: NodeWave, text: str, t: WitType) -> None:
    started = time.monotonic()
    outcome = js_outcome(node, text, t)
    assert "error" in outcome, outcome
    assert outcome == python_outcome(text, t)
    assert time.monotonic() - started < ANSWER_S


def test_a_float_too_large_is_inf_as_in_python(node: NodeWave) -> None:
    huge = "1" + "0" * 5000
    assert js_outcome(node, huge, wit.prim("f64")) == python_outcome(huge, wit.prim("f64")) == {"text": "inf"}


def test_a_type_nested_past_the_stack_is_a_waveerror(node: NodeWave) -> None:
    depth = 20_000
    deep = '{"kind": "list", "items": [' * depth + '{"kind": "u8"}' + "]}" * depth  # past json.dumps' recursion
    reply = node.ask_line(f'{{"op": "round-trip", "text": {json.dumps("[" * depth)}, "type": {deep}}}')
    assert reply == {"error": "value: the value is nested too deeply", "name": "WaveError", "wave": True}


def parsed(node: NodeWave, text: str, t: WitType) -> Any:
    reply = node.ask(op="parse", text=text, type=type_tree(t))
    assert "value" in reply, reply
    return reply["value"]


def test_values_are_what_jcos_glue_takes(node: NodeWave) -> None:
    """jco's conventions, as its glue for tests/components/shapes.wat's world reads them."""
    U32 = wit.prim("u32")
    record = wit.record("rec", [("first-name", wit.prim("string")), ("qty-x", wit.option_of(U32))])
    assert parsed(node, '{first-name: "a"}', record) == {"object": {"firstName": "a", "qtyX": {"undefined": True}}}
    assert parsed(node, "{read-it}", wit.flags("fl", ["read-it", "write-it"])) == {
        "object": {"readIt": True, "writeIt": False}}
    assert parsed(node, "red-one", wit.enum("en", ["red-one"])) == "red-one"
    shape = wit.variant("shape", [("circle", wit.prim("f64")), ("point", None)])
    assert parsed(node, "circle(2)", shape) == {"object": {"tag": "circle", "val": 2}}
    assert parsed(node, "point", shape) == {"object": {"tag": "point"}}
    assert parsed(node, "some(4)", wit.option_of(U32)) == 4
    assert parsed(node, "none", wit.option_of(U32)) == {"undefined": True}
    nested = wit.option_of(wit.option_of(U32))  # none and some(none) must differ: the outer is tagged
    assert parsed(node, "some(none)", nested) == {"object": {"tag": "some", "val": {"undefined": True}}}
    assert parsed(node, "none", nested) == {"object": {"tag": "none"}}
    triple = wit.option_of(nested)  # its payload is never undefined: plain again
    assert parsed(node, "none", triple) == {"undefined": True}
    assert parsed(node, "err(\"e\")", wit.result_of(U32, wit.prim("string"))) == {"object": {"tag": "err", "val": "e"}}
    assert parsed(node, "ok", wit.result_of(None, None)) == {"object": {"tag": "ok"}}
    assert parsed(node, "(-9007199254740993, true)", wit.tuple_of(wit.prim("s64"), wit.prim("bool"))) == [
        {"bigint": "-9007199254740993"}, True]
    assert parsed(node, "[1, 2]", wit.list_of(wit.prim("u16"))) == {"Uint16Array": [1, 2]}
    assert parsed(node, "[1]", wit.list_of(wit.prim("u64"))) == {"BigUint64Array": [{"bigint": "1"}]}
    assert parsed(node, "[0.1]", wit.list_of(wit.prim("f32"))) == {"Float32Array": [0.10000000149011612]}
    assert parsed(node, "[true]", wit.list_of(wit.prim("bool"))) == [True]
    assert parsed(node, "'\\u{1F600}'", wit.prim("char")) == "\U0001F600"
    assert parsed(node, "-inf", wit.prim("f64")) == {"number": "-Infinity"}


def outcome(node: NodeWave, t: WitType | None, **call: Any) -> dict[str, Any]:
    return node.ask(op="outcome", type=None if t is None else type_tree(t), **call)


def test_results_as_each_generator_returns_and_throws_them(node: NodeWave) -> None:
    """A function's result: jco 1.12.0 throws an err as an Error with `payload`, jco-transpile
    throws the payload itself; a trap or an exit stays an error for the form to show."""
    div = wit.result_of(wit.prim("s32"), wit.prim("string"))
    assert outcome(node, div, returns=3) == {"text": "ok(3)"}
    assert outcome(node, div, throws="component-error", payload="division by zero") == {
        "text": 'err("division by zero")'}
    assert outcome(node, div, throws="payload", payload="division by zero") == {"text": 'err("division by zero")'}
    bare = wit.result_of(None, None)
    assert outcome(node, bare, returns={"undefined": True}) == {"text": "ok"}
    assert outcome(node, bare, throws="payload", payload={"undefined": True}) == {"text": "err"}
    assert outcome(node, div, throws="trap")["name"] == "RuntimeError"
    assert outcome(node, div, throws="exit")["error"] == "exit"
    assert outcome(node, wit.list_of(wit.prim("u16")), returns={"Uint16Array": [0, 1, 2]}) == {"text": "[0, 1, 2]"}
    assert outcome(node, wit.option_of(wit.prim("u32")), returns={"undefined": True}) == {"text": "none"}
    assert outcome(node, None, returns=1) == {"text": ""}


@pytest.mark.parametrize("value", [0.1, 1e16, 1e15, 1e-5, 1e-4, 123456789.125, 5e-324, 1.7976931348623157e308, -0.0,
                                   2.5, 16777216.0, 3.4028234663852886e38, 1.401298464324817e-45, 0.5, 100.0])
def test_floats_print_as_python_prints_them(node: NodeWave, value: float) -> None:
    for kind in ("f32", "f64"):
        try:
            exact = struct.unpack("<f", struct.pack("<f", value))[0] if kind == "f32" else value
        except OverflowError:  # beyond the largest f32
            continue
        t = wit.prim(kind)
        assert node.ask(op="print", value=exact, type=type_tree(t)) == {"text": print_value(exact, t)}, (kind, exact)
