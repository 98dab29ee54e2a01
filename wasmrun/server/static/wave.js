// WAVE (the WebAssembly Value Encoding) on the page: the forms of a component's functions take
// their arguments and show their results in the same syntax as `wasmrun exec --invoke`. This is
// wasmrun/wasm/wave.py in JavaScript: the same grammar, the same messages (one line naming the
// type expected and where) and the same printing (shortest floats, escapes, `%` labels), over the
// type trees the server sends (`{kind, items, cases: [{name, type}], name}`, from WitType).
//
// Values are what jco's glue takes and returns (both of wasmrun's generators, jco 1.12.0's and
// jco-transpile's, agree): s64/u64 as BigInt, other numbers as Number, a char as a one-character
// string; a list as an Array, a list of numbers as a typed array; a tuple as an Array; a record
// and flags as objects keyed by lower camel case (`first-name` is `firstName`); an enum case as
// its name; a variant as `{tag, val}`; an option as its value or `undefined`, except that an
// option whose payload can itself be `undefined` is `{tag: 'some', val}` / `{tag: 'none'}`; a
// result as `{tag: 'ok' | 'err', val}` (a function's returned result: see `printOutcome`).
// Loaded by page.js only, for a component's forms.

const INT_BITS = { s8: 8, s16: 16, s32: 32, s64: 64, u8: 8, u16: 16, u32: 32, u64: 64 };
const PRIMITIVES = new Set(["bool", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64", "char", "string"]);
const NAMED_KINDS = new Set(["record", "variant", "enum", "flags", "resource"]);
const KEYWORDS = new Set([
  "as", "async", "bool", "borrow", "char", "constructor", "enum", "export", "f32", "f64", "flags", "from", "func",
  "future", "import", "include", "interface", "list", "option", "own", "package", "record", "resource", "result",
  "s8", "s16", "s32", "s64", "static", "stream", "string", "tuple", "type", "u8", "u16", "u32", "u64", "use",
  "variant", "with", "world", "_", "true", "false", "some", "none", "ok", "err", "inf", "nan"]);
const AMBIGUOUS_LABELS = new Set(["true", "false", "some", "none", "ok", "err", "inf", "nan"]);
const TYPED_ARRAYS = {
  s8: Int8Array, u8: Uint8Array, s16: Int16Array, u16: Uint16Array, s32: Int32Array, u32: Uint32Array,
  s64: BigInt64Array, u64: BigUint64Array, f32: Float32Array, f64: Float64Array,
};
const NUMBER = /-?(?:inf|nan|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/y;
const WORD = /%?([a-z][a-z0-9]*|[A-Z][A-Z0-9]*)(-([a-z][a-z0-9]*|[A-Z][A-Z0-9]*))*/y;
const UNICODE_ESCAPE = /u\{([0-9a-fA-F]{1,6})\}/y;
// Python's str.isspace() and str.isalnum(), which wave.py's parser uses
const SPACE = /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
const ALNUM = /[\p{L}\p{N}]/u;
const SIMPLE_ESCAPES = { "'": "'", '"': '"', "\\": "\\", t: "\t", n: "\n", r: "\r" };

/** A WAVE value that does not parse, or does not fit its type: one line. */
export class WaveError extends Error {
  constructor(message) {
    super(message);
    this.name = "WaveError";
  }
}

// -- types ------------------------------------------------------------------------------------

function label(name) {
  return KEYWORDS.has(name) ? `%${name}` : name;
}

/** A record's fields, a variant's cases and so on ([] when the tree leaves them out: none). */
function casesOf(t) {
  return t.cases ?? [];
}

function payloadOf(t, name) {
  const found = casesOf(t).find((c) => c.name === name);
  return found ? found.type ?? null : null;
}

/** How a type is written where it is used (wit.py's type_ref). */
export function typeRef(t) {
  const kind = t.kind;
  if (PRIMITIVES.has(kind)) return kind;
  if (kind === "own" || kind === "resource") return label(t.name ?? "resource");
  if (kind === "borrow") return `borrow<${label(t.name ?? "resource")}>`;
  if (NAMED_KINDS.has(kind) && t.name != null) return label(t.name);
  if (kind === "list") return `list<${typeRef(t.items[0])}>`;
  if (kind === "option") return `option<${typeRef(t.items[0])}>`;
  if (kind === "tuple") return `tuple<${t.items.map(typeRef).join(", ")}>`;
  if (kind === "result") {
    const ok = payloadOf(t, "ok");
    const err = payloadOf(t, "err");
    if (ok === null && err === null) return "result";
    if (err === null) return `result<${typeRef(ok)}>`;
    return `result<${ok === null ? "_" : typeRef(ok)}, ${typeRef(err)}>`;
  }
  return typeDefinition(t);
}

function typeDefinition(t) {
  const name = label(t.name ?? "anonymous");
  const cases = casesOf(t);
  if (t.kind === "record") return `record ${name} { ${cases.filter((c) => c.type).map((c) => `${label(c.name)}: ${typeRef(c.type)}`).join(", ")} }`;
  if (t.kind === "variant") return `variant ${name} { ${cases.map((c) => (c.type ? `${label(c.name)}(${typeRef(c.type)})` : label(c.name))).join(", ")} }`;
  if (t.kind === "enum" || t.kind === "flags") return `${t.kind} ${name} { ${cases.map((c) => label(c.name)).join(", ")} }`;
  if (t.kind === "resource") return `resource ${name};`;
  return `type ${name} = ${typeRef(t)};`;
}

/** jco's JavaScript name of a WIT name (heck's lower camel case): `first-name` is `firstName`. */
export function camel(name) {
  return name.split("-").map((word, i) => (i === 0 ? word.toLowerCase()
    : word.charAt(0).toUpperCase() + word.slice(1).toLowerCase())).join("");
}

/** Whether jco writes `none` of this type as `undefined` (an option whose payload is not one). */
function nullable(t) {
  return t.kind === "option" && !nullable(t.items[0]);
}

// -- printing ---------------------------------------------------------------------------------

/** Python's repr() of a string, as wave.py's messages quote text. */
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0);
    if (char === "\\" || char === quote) out += `\\${char}`;
    else if (char === "\t") out += "\\t";
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0)) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (char !== " " && /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u.test(char)) {
      out += code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}`
        : code <= 0xffff ? `\\u${code.toString(16).padStart(4, "0")}` : `\\U${code.toString(16).padStart(8, "0")}`;
    } else out += char;
  }
  return out + quote;
}

function quoteText(text, quote) {
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0);
    if (char === "\\" || char === quote) out += `\\${char}`;
    else if (char === "\t") out += "\\t";
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f) out += `\\u{${code.toString(16)}}`;
    else out += char;
  }
  return out + quote;
}

function caseLabel(name) {
  return AMBIGUOUS_LABELS.has(name) ? `%${name}` : name;
}

/** The exact decimal digits of finite non-zero |x| and the exponent of the first one. */
function exactDigits(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  let mantissa = bits & ((1n << 52n) - 1n);
  let shift;
  if (biased === 0) shift = -1074;
  else { mantissa |= 1n << 52n; shift = biased - 1075; }
  if (shift >= 0) {
    const digits = (mantissa << BigInt(shift)).toString();
    return { digits, exponent: digits.length - 1 };
  }
  const digits = (mantissa * 5n ** BigInt(-shift)).toString();  // x = digits * 10^shift
  return { digits, exponent: digits.length - 1 + shift };
}

/** `digits` rounded half to even to `count` digits: {digits, exponent}. */
function roundDigits({ digits, exponent }, count) {
  if (digits.length <= count) return { digits: digits.padEnd(count, "0"), exponent };
  let head = digits.slice(0, count);
  const rest = digits.slice(count);
  const up = rest[0] > "5" || (rest[0] === "5" && (/[1-9]/.test(rest.slice(1)) || Number(head.at(-1)) % 2 === 1));
  if (!up) return { digits: head, exponent };
  head = (BigInt(head) + 1n).toString();
  if (head.length > count) return { digits: head.slice(0, count), exponent: exponent + 1 };
  return { digits: head, exponent };
}

function trimZeros(fraction) {
  return fraction.replace(/0+$/, "");
}

/** Python's `f"{x:.{count}g}"` (then wave.py's exponent without `+` and leading zeros). */
function generalFormat(rounded, count) {
  const { digits, exponent } = rounded;
  if (exponent < -4 || exponent >= count) {
    const fraction = trimZeros(digits.slice(1));
    return `${digits[0]}${fraction ? `.${fraction}` : ""}e${exponent < 0 ? "-" : ""}${Math.abs(exponent)}`;
  }
  if (exponent < 0) return `0.${"0".repeat(-exponent - 1)}${trimZeros(digits)}`;
  const fraction = trimZeros(digits.slice(exponent + 1));
  return digits.slice(0, exponent + 1) + (fraction ? `.${fraction}` : "");
}

/** Python's repr() of a float, as wave.py prints it (no `.0`, exponent without `+`). */
function pythonRepr(x) {
  const [mantissa, exp] = Math.abs(x).toExponential().split("e");  // the shortest digits that read back
  const digits = mantissa.replace(".", "");
  const exponent = Number(exp);
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.slice(1);
    return `${digits[0]}${fraction ? `.${fraction}` : ""}e${exponent < 0 ? "-" : ""}${Math.abs(exponent)}`;
  }
  const count = Math.max(digits.length, exponent + 1);
  return generalFormat({ digits: digits.padEnd(count, "0"), exponent }, count);
}

function floatText(value, kind) {
  const x = Number(value);
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (x === 0) return `${sign}0`;
  if (kind === "f32") {
    const exact = exactDigits(x);
    for (let count = 1; count < 10; count++) {
      const rounded = roundDigits(exact, count);
      const candidate = Number(`${rounded.digits}e${rounded.exponent - count + 1}`) * (sign ? -1 : 1);
      if (Math.fround(candidate) === x) return sign + generalFormat(rounded, count);
    }
  }
  return sign + pythonRepr(x);
}

/** `value` (as jco's glue gives it) of type `t` in WAVE, as wave.py's print_value writes it. */
export function printValue(value, t) {
  const kind = t.kind;
  if (kind === "bool") return value ? "true" : "false";
  if (kind in INT_BITS) return String(value);
  if (kind === "f32" || kind === "f64") return floatText(value, kind);
  if (kind === "char") return quoteText(String(value), "'");
  if (kind === "string") return quoteText(String(value), '"');
  if (kind === "list") return `[${Array.from(value, (v) => printValue(v, t.items[0])).join(", ")}]`;
  if (kind === "tuple") return `(${t.items.map((it, i) => printValue(value[i], it)).join(", ")})`;
  if (kind === "record") {
    return `{${casesOf(t).filter((c) => c.type).map((c) => `${c.name}: ${printValue(value[camel(c.name)], c.type)}`).join(", ")}}`;
  }
  if (kind === "flags") return `{${casesOf(t).filter((c) => value?.[camel(c.name)]).map((c) => c.name).join(", ")}}`;
  if (kind === "enum") return caseLabel(value);
  if (kind === "option") {
    const inner = t.items[0];
    if (nullable(t)) return value === undefined || value === null ? "none" : `some(${printValue(value, inner)})`;
    return value.tag === "none" ? "none" : `some(${printValue(value.val, inner)})`;
  }
  if (kind === "variant" || kind === "result") {
    const payload = payloadOf(t, value.tag);
    const name = kind === "variant" ? caseLabel(value.tag) : value.tag;
    return payload === null ? name : `${name}(${printValue(value.val, payload)})`;
  }
  if (kind === "own" || kind === "borrow") return `<${typeRef(t)}>`;
  throw new WaveError(`values of type ${typeRef(t)} cannot be written in WAVE`);
}

/** What a thrown error says of a function's `err` result, or null: jco 1.12.0's glue throws a
 *  ComponentError holding it in `payload`, jco-transpile's throws the payload itself (never an
 *  Error: WIT values are not). A trap or an exit is an Error without a payload. */
function errPayload(thrown) {
  if (thrown instanceof Error) {
    return Object.prototype.hasOwnProperty.call(thrown, "payload") && !thrown.exitError ? { val: thrown.payload } : null;
  }
  return thrown?.exitError ? null : { val: thrown };
}

/** The WAVE text of what `call()` returns as a function whose result has type `t` (null: none,
 *  and the text is empty): a result is `ok(...)`, or `err(...)` when the glue threw its err. */
export function printOutcome(call, t) {
  if (t === null || t === undefined) {
    call();
    return "";
  }
  if (t.kind !== "result") return printValue(call(), t);
  let value;
  try {
    value = { tag: "ok", val: call() };
  } catch (thrown) {
    const err = errPayload(thrown);
    if (err === null) throw thrown;
    value = { tag: "err", val: err.val };
  }
  return printValue(value, t);
}

// -- parsing ----------------------------------------------------------------------------------

function codePoints(text) {
  return Array.from(text).length;
}

class Parser {
  constructor(text, what) {
    this.text = text;
    this.pos = 0;  // in UTF-16 units; messages count characters, as Python does
    this.what = what;
  }

  fail(message, at = null) {
    const where = codePoints(this.text.slice(0, at === null ? this.pos : at));
    return new WaveError(`${this.what}: ${message} (at character ${where + 1} of ${pyRepr(this.text)})`);
  }

  ws() {
    const text = this.text;
    while (this.pos < text.length) {
      if (SPACE.test(text[this.pos])) this.pos += 1;
      else if (text.startsWith("//", this.pos)) {
        const end = text.indexOf("\n", this.pos);
        this.pos = end < 0 ? text.length : end;
      } else break;
    }
  }

  charAt(pos) {
    return pos < this.text.length ? String.fromCodePoint(this.text.codePointAt(pos)) : "";
  }

  peek() {
    this.ws();
    return this.charAt(this.pos);
  }

  eat(char) {
    if (this.peek() === char) {
      this.pos += 1;
      return true;
    }
    return false;
  }

  expect(char, context) {
    if (!this.eat(char)) {
      const found = this.peek();
      throw this.fail(`expected '${char}' ${context}, found ${found ? `'${found}'` : "the end"}`);
    }
  }

  word() {
    this.ws();
    WORD.lastIndex = this.pos;
    const match = WORD.exec(this.text);
    if (match === null) return null;
    this.pos = WORD.lastIndex;
    const raw = match[0];
    return [raw.replace(/^%/, ""), raw.startsWith("%")];
  }

  seen(start) {
    const rest = Array.from(this.text.slice(start, start + 40)).slice(0, 20).join("");
    return rest ? pyRepr(rest) : "the end";
  }

  found() {
    return this.seen(this.pos);
  }

  value(t) {
    this.ws();
    const start = this.pos;
    const kind = t.kind;
    if (kind in INT_BITS || kind === "f32" || kind === "f64") return this.number(t);
    if (kind === "bool") {
      const word = this.word();
      if (word === null || word[1] || (word[0] !== "true" && word[0] !== "false")) {
        throw this.fail(`expected ${kind} (true or false), found ${this.seen(start)}`, start);
      }
      return word[0] === "true";
    }
    if (kind === "char" || kind === "string") return this.quoted(t);
    if (kind === "list" || kind === "tuple") {
      const [opening, closing] = kind === "list" ? ["[", "]"] : ["(", ")"];
      if (!this.eat(opening)) throw this.fail(`expected ${typeRef(t)} (starting with '${opening}'), found ${this.found()}`);
      const items = [];
      while (!this.eat(closing)) {
        if (kind === "tuple" && items.length >= t.items.length) {
          throw this.fail(`expected ${typeRef(t)}: more than ${t.items.length} members`);
        }
        items.push(this.value(kind === "list" ? t.items[0] : t.items[items.length]));
        if (!this.eat(",")) {
          this.expect(closing, `after a member of ${typeRef(t)}`);
          break;
        }
      }
      if (kind === "tuple") {
        if (items.length !== t.items.length) {
          throw this.fail(`expected ${typeRef(t)}: ${t.items.length} members, got ${items.length}`, start);
        }
        return items;
      }
      const typed = TYPED_ARRAYS[t.items[0].kind];
      return typed ? typed.from(items) : items;
    }
    if (kind === "record") return this.record(t, start);
    if (kind === "flags") return this.flags(t);
    if (kind === "enum" || kind === "variant" || kind === "option" || kind === "result") return this.case(t, start);
    throw this.fail(`values of type ${typeRef(t)} cannot be written in WAVE`);
  }

  number(t) {
    this.ws();
    const start = this.pos;
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    const next = match === null ? "" : this.charAt(NUMBER.lastIndex);
    if (match === null || (next && (ALNUM.test(next) || next === "." || next === "_"))) {
      throw this.fail(`expected ${t.kind} (a number), found ${this.found()}`);
    }
    const token = match[0];
    this.pos = NUMBER.lastIndex;
    if (t.kind in INT_BITS) {
      if (!/^-?[0-9]+$/.test(token)) throw this.fail(`expected ${t.kind} (an integer), found ${pyRepr(token)}`, start);
      const bits = BigInt(INT_BITS[t.kind]);
      const [low, high] = t.kind[0] === "s" ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
      if (token.length > 40) throw this.fail(`${token.slice(0, 20)}... is out of range for ${t.kind} (${low} to ${high})`, start);
      const value = BigInt(token);
      if (value < low || value > high) throw this.fail(`${token} is out of range for ${t.kind} (${low} to ${high})`, start);
      return bits === 64n ? value : Number(value);
    }
    const unsigned = token.replace(/^-/, "");
    let number = unsigned === "inf" ? Infinity : unsigned === "nan" ? NaN : Number(unsigned);
    if (token.startsWith("-")) number = -number;
    if (t.kind === "f32") {
      const single = Math.fround(number);
      if (Number.isFinite(number) && !Number.isFinite(single)) throw this.fail(`${token} is out of range for f32`, start);
      number = single;
    }
    return number;
  }

  quoted(t) {
    const quote = t.kind === "char" ? "'" : '"';
    const start = this.pos;
    if (!this.eat(quote)) throw this.fail(`expected ${t.kind} (in ${quote}quotes${quote}), found ${this.found()}`);
    const text = this.text;
    let out = "";
    for (;;) {
      if (this.pos >= text.length) throw this.fail(`unterminated ${t.kind}`, start);
      const char = this.charAt(this.pos);
      this.pos += char.length;
      if (char === quote) break;
      if (char !== "\\") {
        out += char;
        continue;
      }
      const backslash = this.pos - 1;
      const escape = this.charAt(this.pos);
      this.pos += escape.length || 1;
      if (Object.hasOwn(SIMPLE_ESCAPES, escape)) {
        out += SIMPLE_ESCAPES[escape];
        continue;
      }
      UNICODE_ESCAPE.lastIndex = backslash + 1;
      const match = escape === "u" ? UNICODE_ESCAPE.exec(text) : null;
      if (match === null) throw this.fail(`unknown escape '\\${escape}' in a ${t.kind}`, backslash);
      const code = parseInt(match[1], 16);
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
        throw this.fail(`\\u{${match[1]}} is not a Unicode scalar value`, backslash);
      }
      out += String.fromCodePoint(code);
      this.pos = UNICODE_ESCAPE.lastIndex;
    }
    if (t.kind === "char" && codePoints(out) !== 1) {
      throw this.fail(`expected char (one character in 'quotes'), found ${codePoints(out)} characters`, start);
    }
    return out;
  }

  record(t, start) {
    const fields = new Map(casesOf(t).map((c) => [c.name, c.type]));
    if (!this.eat("{")) throw this.fail(`expected record ${typeRef(t)} (starting with '{'), found ${this.found()}`);
    const values = new Map();
    while (!this.eat("}")) {
      const at = this.pos;
      const word = this.word();
      if (word === null) throw this.fail(`expected a field name of record ${typeRef(t)}, found ${this.found()}`);
      const name = word[0];
      if (!fields.has(name)) throw this.fail(`record ${typeRef(t)} has no field '${name}' (fields: ${[...fields.keys()].join(", ")})`, at);
      if (values.has(name)) throw this.fail(`field '${name}' given twice`, at);
      this.expect(":", `after field name '${name}'`);
      values.set(name, this.value(fields.get(name)));
      if (!this.eat(",")) {
        this.expect("}", `after field '${name}' of record ${typeRef(t)}`);
        break;
      }
    }
    const out = {};
    for (const { name, type } of casesOf(t)) {
      if (values.has(name)) out[camel(name)] = values.get(name);
      else if (type && type.kind === "option") out[camel(name)] = nullable(type) ? undefined : { tag: "none" };
      else throw this.fail(`record ${typeRef(t)} needs field '${name}'`, start);
    }
    return out;
  }

  flags(t) {
    const names = casesOf(t).map((c) => c.name);
    if (!this.eat("{")) throw this.fail(`expected flags ${typeRef(t)} (like {${names.slice(0, 2).join(", ")}}), found ${this.found()}`);
    const chosen = new Set();
    while (!this.eat("}")) {
      const at = this.pos;
      const word = this.word();
      if (word === null || !names.includes(word[0])) {
        const seen = word ? pyRepr(word[0]) : this.found();
        throw this.fail(`expected one of the flags of ${typeRef(t)} (${names.join(", ")}), found ${seen}`, at);
      }
      if (chosen.has(word[0])) throw this.fail(`flag '${word[0]}' given twice`, at);
      chosen.add(word[0]);
      if (!this.eat(",")) {
        this.expect("}", `after a flag of ${typeRef(t)}`);
        break;
      }
    }
    return Object.fromEntries(names.map((name) => [camel(name), chosen.has(name)]));
  }

  case(t, start) {
    const kind = t.kind;
    const names = kind === "option" ? ["none", "some"] : casesOf(t).map((c) => c.name);
    const saved = this.pos;
    const word = this.word();
    const explicit = word !== null && names.includes(word[0]) && !((kind === "option" || kind === "result") && word[1]);
    if ((kind === "option" || kind === "result") && !explicit) {
      const bare = kind === "option" ? t.items[0] : payloadOf(t, "ok");
      if (bare !== null) {  // a bare value: some(v), ok(v)
        this.pos = saved;
        return this.made(t, kind === "option" ? "some" : "ok", this.value(bare));
      }
    }
    if (word === null || !explicit) {
      const seen = word ? pyRepr(word[0]) : this.seen(start);
      throw this.fail(`expected ${typeRef(t)} (one of ${names.join(", ")}), found ${seen}`, start);
    }
    const name = word[0];
    const payload = kind === "option" ? (name === "some" ? t.items[0] : null) : payloadOf(t, name);
    if (payload === null) {
      if (this.peek() === "(") throw this.fail(`case '${name}' of ${typeRef(t)} takes no value`);
      return this.made(t, name);
    }
    this.expect("(", `after case '${name}' of ${typeRef(t)} (it takes a ${typeRef(payload)})`);
    const value = this.value(payload);
    this.expect(")", `after the value of case '${name}'`);
    return this.made(t, name, value);
  }

  /** A case as jco's glue takes it. */
  made(t, name, ...payload) {
    if (t.kind === "enum") return name;
    if (t.kind === "option" && nullable(t)) return name === "none" ? undefined : payload[0];
    return payload.length ? { tag: name, val: payload[0] } : { tag: name };
  }

  end() {
    if (this.peek()) throw this.fail(`unexpected ${this.found()} after the value`);
  }
}

/** One WAVE value of type `t` as jco's glue takes it; a WaveError names the type expected and where. */
export function parseValue(text, t, what = "value") {
  const parser = new Parser(String(text), what);
  try {
    const value = parser.value(t);
    parser.end();
    return value;
  } catch (error) {
    if (error instanceof RangeError) throw new WaveError(`${what}: the value is nested too deeply`);
    throw error;
  }
}
