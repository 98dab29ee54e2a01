"""WAVE, the WebAssembly Value Encoding: component values as text, as ``wasmtime run --invoke`` takes them.

``exec --invoke 'greet("ada")'`` parses its arguments here against the parameters' types, and
prints results with :func:`print_value`. Values are plain Python: ``bool``, ``int``, ``float``,
``str`` (a string, or a char of one code point), ``list``, ``tuple``, ``dict`` (a record, by
field), ``frozenset`` (flags) and :class:`Case` (a variant, enum, option or result case). Every
problem is a :class:`WaveError`: one line saying where and which type was expected.

The syntax (https://github.com/bytecodealliance/wasm-tools/tree/main/crates/wasm-wave):
``true``, ``-7``, ``1.5``, ``nan``, ``-inf``, ``'x'``, ``"a\\tb\\u{1F600}"``, ``[1, 2]``,
``(1, "a")``, ``{name: "x", qty: 2}``, ``circle(2.0)``, ``red``, ``some(1)``, ``none``,
``ok(1)``, ``err("e")``, ``{read, write}``. A label spelt like a keyword is written ``%none``.
An option may be given bare (``5`` for ``some(5)``), a result's ok value too, and a record
field whose type is an option may be left out (``none``). ``//`` starts a comment.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from typing import Any

from wasmrun.errors import UsageError
from wasmrun.wasm.wit import WitType, type_ref

_INT_BITS = {"s8": 8, "s16": 16, "s32": 32, "s64": 64, "u8": 8, "u16": 16, "u32": 32, "u64": 64}
#: Case labels a printer escapes: bare, they would read as another value.
_AMBIGUOUS_LABELS = frozenset({"true", "false", "some", "none", "ok", "err", "inf", "nan"})
_NUMBER = re.compile(r"-?(?:inf|nan|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)")
_WORD = re.compile(r"%?([a-z][a-z0-9]*|[A-Z][A-Z0-9]*)(-([a-z][a-z0-9]*|[A-Z][A-Z0-9]*))*")


class WaveError(UsageError):
    """A WAVE value that does not parse, or does not fit its type: one line."""


@dataclass(frozen=True)
class Case:
    """A case of a variant, enum, option (``some``/``none``) or result (``ok``/``err``)."""

    name: str
    payload: Any = None


def _int_range(kind: str) -> tuple[int, int]:
    bits = _INT_BITS[kind]
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if kind[0] == "s" else (0, (1 << bits) - 1)


# ---------------------------------------------------------------------------------------------
# Printing


def _float_text(value: float, kind: str) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = shortest_f32(value) if kind == "f32" else repr(value)
    mantissa, e, exponent = text.partition("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    if e:
        sign = "-" if exponent.startswith("-") else ""
        return f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"
    return mantissa


def shortest_f32(value: float) -> str:
    """The shortest decimal (``%g`` style) that reads back as the same f32 as finite ``value``."""
    packed = struct.pack("<f", value)
    for digits in range(1, 10):
        candidate = f"{value:.{digits}g}"
        try:
            if struct.pack("<f", float(candidate)) == packed:
                return candidate
        except OverflowError:  # rounded past the largest f32: more digits
            continue
    return repr(value)


def _quote(text: str, quote: str) -> str:
    out = [quote]
    for char in text:
        if char in ("\\", quote):
            out.append("\\" + char)
        elif char == "\t":
            out.append("\\t")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    out.append(quote)
    return "".join(out)


def _case_label(name: str) -> str:
    return f"%{name}" if name in _AMBIGUOUS_LABELS else name


def print_value(value: Any, t: WitType) -> str:
    """``value`` of type ``t`` in WAVE (options and results always spelt out: ``some(1)``, ``ok(1)``)."""
    kind = t.kind
    if kind == "bool":
        return "true" if value else "false"
    if kind in _INT_BITS:
        return str(int(value))
    if kind in ("f32", "f64"):
        return _float_text(float(value), kind)
    if kind == "char":
        return _quote(value, "'")
    if kind == "string":
        return _quote(value, '"')
    if kind == "list":
        return "[" + ", ".join(print_value(v, t.element) for v in value) + "]"
    if kind == "tuple":
        return "(" + ", ".join(print_value(v, it) for v, it in zip(value, t.items, strict=True)) + ")"
    if kind == "record":
        return "{" + ", ".join(f"{name}: {print_value(value[name], ft)}" for name, ft in t.cases if ft) + "}"
    if kind == "flags":
        return "{" + ", ".join(name for name, _ in t.cases if name in value) + "}"
    if kind == "enum":
        return _case_label(value.name)
    if kind in ("variant", "option", "result"):
        payload_type = t.items[0] if kind == "option" and value.name == "some" else (
            None if kind == "option" else t.payload(value.name))
        label = value.name if kind != "variant" else _case_label(value.name)
        return label if payload_type is None else f"{label}({print_value(value.payload, payload_type)})"
    if kind in ("own", "borrow"):
        return f"<{type_ref(t)}>"
    raise WaveError(f"values of type {type_ref(t)} cannot be written in WAVE")


# ---------------------------------------------------------------------------------------------
# Parsing


class _Parser:
    def __init__(self, text: str, what: str) -> None:
        self.text = text
        self.pos = 0
        self.what = what

    def fail(self, message: str, at: int | None = None) -> WaveError:
        where = self.pos if at is None else at
        return WaveError(f"{self.what}: {message} (at character {where + 1} of {self.text!r})")

    def ws(self) -> None:
        text = self.text
        while self.pos < len(text):
            if text[self.pos].isspace():
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                break

    def peek(self) -> str:
        self.ws()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def eat(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def expect(self, char: str, context: str) -> None:
        if not self.eat(char):
            found = self.peek()
            raise self.fail(f"expected '{char}' {context}, found " + (f"'{found}'" if found else "the end"))

    def word(self) -> tuple[str, bool] | None:
        """A label (``%`` removed) and whether it was escaped, or None."""
        self.ws()
        match = _WORD.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        raw = match.group(0)
        return raw.lstrip("%"), raw.startswith("%")

    def found(self) -> str:
        rest = self.text[self.pos:self.pos + 20]
        return repr(rest) if rest else "the end"

    def value(self, t: WitType) -> Any:
        self.ws()
        start = self.pos
        kind = t.kind
        if kind in _INT_BITS or kind in ("f32", "f64"):
            return self.number(t)
        if kind == "bool":
            word = self.word()
            if word is None or word[1] or word[0] not in ("true", "false"):
                raise self.fail(f"expected {kind} (true or false), found {self._seen(start)}", start)
            return word[0] == "true"
        if kind in ("char", "string"):
            return self.quoted(t)
        if kind in ("list", "tuple"):
            opening, closing = ("[", "]") if kind == "list" else ("(", ")")
            if not self.eat(opening):
                raise self.fail(f"expected {type_ref(t)} (starting with '{opening}'), found {self.found()}")
            items: list[Any] = []
            while not self.eat(closing):
                if kind == "tuple" and len(items) >= len(t.items):
                    raise self.fail(f"expected {type_ref(t)}: more than {len(t.items)} members")
                items.append(self.value(t.element if kind == "list" else t.items[len(items)]))
                if not self.eat(","):
                    self.expect(closing, f"after a member of {type_ref(t)}")
                    break
            if kind == "tuple":
                if len(items) != len(t.items):
                    raise self.fail(f"expected {type_ref(t)}: {len(t.items)} members, got {len(items)}", start)
                return tuple(items)
            return items
        if kind == "record":
            return self.record(t, start)
        if kind == "flags":
            return self.flags(t)
        if kind in ("enum", "variant", "option", "result"):
            return self.case(t, start)
        raise self.fail(f"values of type {type_ref(t)} cannot be written in WAVE")

    def _seen(self, start: int) -> str:
        rest = self.text[start:start + 20]
        return repr(rest) if rest else "the end"

    def number(self, t: WitType) -> int | float:
        self.ws()
        start = self.pos
        match = _NUMBER.match(self.text, self.pos)
        if match is None or (match.end() < len(self.text) and (self.text[match.end()].isalnum()
                                                                 or self.text[match.end()] in "._")):
            raise self.fail(f"expected {t.kind} (a number), found {self.found()}")
        token = match.group(0)
        self.pos = match.end()
        if t.kind in _INT_BITS:
            if not re.fullmatch(r"-?[0-9]+", token):
                raise self.fail(f"expected {t.kind} (an integer), found {token!r}", start)
            low, high = _int_range(t.kind)
            if len(token) > 40:  # far out of any range (and int() refuses very long digit strings)
                raise self.fail(f"{token[:20]}... is out of range for {t.kind} ({low} to {high})", start)
            value = int(token)
            if not low <= value <= high:
                raise self.fail(f"{token} is out of range for {t.kind} ({low} to {high})", start)
            return value
        number = float(token)
        if t.kind == "f32":
            try:  # rounded to the nearest f32; only a value beyond the largest one is refused
                number = struct.unpack("<f", struct.pack("<f", number))[0]
            except OverflowError:
                raise self.fail(f"{token} is out of range for f32", start) from None
        return number

    def quoted(self, t: WitType) -> str:
        quote = "'" if t.kind == "char" else '"'
        start = self.pos
        if not self.eat(quote):
            raise self.fail(f"expected {t.kind} (in {quote}quotes{quote}), found {self.found()}")
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise self.fail(f"unterminated {t.kind}", start)
            char = text[self.pos]
            self.pos += 1
            if char == quote:
                break
            if char != "\\":
                out.append(char)
                continue
            escape = text[self.pos:self.pos + 1]
            self.pos += 1
            simple = {"'": "'", '"': '"', "\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
            if escape in simple:
                out.append(simple[escape])
                continue
            match = re.match(r"u\{([0-9a-fA-F]{1,6})\}", text[self.pos - 1:])
            if escape != "u" or match is None:
                raise self.fail(f"unknown escape '\\{escape}' in a {t.kind}", self.pos - 2)
            code = int(match.group(1), 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise self.fail(f"\\u{{{match.group(1)}}} is not a Unicode scalar value", self.pos - 2)
            out.append(chr(code))
            self.pos += match.end() - 1
        value = "".join(out)
        if t.kind == "char" and len(value) != 1:
            raise self.fail(f"expected char (one character in 'quotes'), found {len(value)} characters", start)
        return value

    def record(self, t: WitType, start: int) -> dict[str, Any]:
        fields = dict(t.cases)
        if not self.eat("{"):
            raise self.fail(f"expected record {type_ref(t)} (starting with '{{'), found {self.found()}")
        values: dict[str, Any] = {}
        while not self.eat("}"):
            at = self.pos
            word = self.word()
            if word is None:
                raise self.fail(f"expected a field name of record {type_ref(t)}, found {self.found()}")
            name = word[0]
            if name not in fields:
                raise self.fail(f"record {type_ref(t)} has no field '{name}' (fields: {', '.join(fields)})", at)
            if name in values:
                raise self.fail(f"field '{name}' given twice", at)
            self.expect(":", f"after field name '{name}'")
            values[name] = self.value(fields[name])  # type: ignore[arg-type]
            if not self.eat(","):
                self.expect("}", f"after field '{name}' of record {type_ref(t)}")
                break
        out: dict[str, Any] = {}
        for name, ft in t.cases:
            if name in values:
                out[name] = values[name]
            elif ft is not None and ft.kind == "option":
                out[name] = Case("none")
            else:
                raise self.fail(f"record {type_ref(t)} needs field '{name}'", start)
        return out

    def flags(self, t: WitType) -> frozenset[str]:
        names = t.case_names()
        if not self.eat("{"):
            raise self.fail(f"expected flags {type_ref(t)} (like {{{', '.join(names[:2])}}}), found {self.found()}")
        chosen: set[str] = set()
        while not self.eat("}"):
            at = self.pos
            word = self.word()
            if word is None or word[0] not in names:
                seen = repr(word[0]) if word else self.found()
                raise self.fail(f"expected one of the flags of {type_ref(t)} ({', '.join(names)}), found {seen}", at)
            if word[0] in chosen:
                raise self.fail(f"flag '{word[0]}' given twice", at)
            chosen.add(word[0])
            if not self.eat(","):
                self.expect("}", f"after a flag of {type_ref(t)}")
                break
        return frozenset(chosen)

    def case(self, t: WitType, start: int) -> Case:
        kind = t.kind
        names = ["none", "some"] if kind == "option" else t.case_names()
        saved = self.pos
        word = self.word()
        explicit = word is not None and word[0] in names and not (kind in ("option", "result") and word[1])
        if kind in ("option", "result") and not explicit:
            bare = t.items[0] if kind == "option" else t.payload("ok")
            if bare is not None:  # a bare value: some(v), ok(v)
                self.pos = saved
                return Case("some" if kind == "option" else "ok", self.value(bare))
        if word is None or not explicit:
            seen = repr(word[0]) if word else self._seen(start)
            raise self.fail(f"expected {type_ref(t)} (one of {', '.join(names)}), found {seen}", start)
        name = word[0]
        payload_type = (t.items[0] if name == "some" else None) if kind == "option" else t.payload(name)
        if payload_type is None:
            if self.peek() == "(":
                raise self.fail(f"case '{name}' of {type_ref(t)} takes no value")
            return Case(name)
        self.expect("(", f"after case '{name}' of {type_ref(t)} (it takes a {type_ref(payload_type)})")
        payload = self.value(payload_type)
        self.expect(")", f"after the value of case '{name}'")
        return Case(name, payload)

    def end(self) -> None:
        if self.peek():
            raise self.fail(f"unexpected {self.found()} after the value")


def parse_value(text: str, t: WitType, what: str = "value") -> Any:
    """One WAVE value of type ``t``; a :class:`WaveError` names the type expected and where."""
    parser = _Parser(text, what)
    value = parser.value(t)
    parser.end()
    return value


_CALL = re.compile(r"\s*([^\s()]+)\s*\(")


def is_call(text: str) -> bool:
    """Whether ``--invoke``'s value is a call (``add(1, 2)``) rather than a bare name (``add``)."""
    return "(" in text


def call_name(text: str) -> str:
    """The function name of a call such as ``geometry#area(point)``."""
    match = _CALL.match(text)
    if match is None or not text.rstrip().endswith(")"):
        raise WaveError(f"--invoke {text!r}: expected NAME(ARGS...), as in 'add(1, 2)' or 'greet(\"ada\")'")
    return match.group(1)


def parse_call(text: str, params: list[tuple[str, WitType]], function: str) -> list[Any]:
    """The arguments of ``NAME(ARG, ...)`` (trailing comma allowed), each parsed against its parameter."""
    match = _CALL.match(text)
    if match is None:
        raise WaveError(f"--invoke {text!r}: expected NAME(ARGS...)")
    signature = ", ".join(f"{n}: {type_ref(t)}" for n, t in params)
    parser = _Parser(text, f"--invoke {function}")
    parser.pos = match.end()
    values: list[Any] = []
    while not parser.eat(")"):
        if len(values) == len(params):
            parser.what = f"--invoke {function}"
            raise parser.fail(f"{function}({signature}) takes {len(params)} argument(s); more were given")
        name, param_type = params[len(values)]
        parser.what = f"argument '{name}' of {function}"
        values.append(parser.value(param_type))
        if not parser.eat(","):
            parser.expect(")", f"after argument '{name}'")
            break
    parser.what = f"--invoke {function}"
    parser.end()
    if len(values) != len(params):
        raise WaveError(f"{function}({signature}) takes {len(params)} argument(s), got {len(values)}")
    return values


def parse_words(words: list[str], params: list[tuple[str, WitType]], function: str) -> list[Any]:
    """The positional form (``--invoke add FILE 1 2``): one WAVE value per command-line word."""
    if len(words) != len(params):
        signature = ", ".join(f"{n}: {type_ref(t)}" for n, t in params)
        raise WaveError(f"{function}({signature}) takes {len(params)} argument(s), got {len(words)}")
    return [parse_value(word, t, f"argument '{name}' of {function}")
            for word, (name, t) in zip(words, params, strict=True)]


def core_call_words(text: str, count: int, function: str) -> list[str]:
    """The arguments of a call to a core-module export (``add(1, 2)``) as number words, for the
    core parser (:func:`wasmrun.wasm.runner.parse_value`) to check against i32/i64/f32/f64."""
    match = _CALL.match(text)
    if match is None:
        raise WaveError(f"--invoke {text!r}: expected NAME(ARGS...)")
    inner = text[match.end():].rstrip()
    if not inner.endswith(")"):
        raise WaveError(f"--invoke {text!r}: expected ')' at the end")
    inner = inner[:-1].strip()
    words = [w.strip() for w in inner.split(",")] if inner else []
    if words and not words[-1]:
        words.pop()  # a trailing comma
    if any(not w for w in words):
        raise WaveError(f"--invoke {text!r}: an empty argument")
    if len(words) != count:
        raise WaveError(f"{function} takes {count} argument(s), got {len(words)}")
    return words
