"""Node's built-in modules in the agent's JavaScript runtime (``js_node.js``): the real QuickJS
component, cell after cell, each module's main functions checked against what Node (or Python's
own hashlib, hmac and urllib) gives; the ones the sandbox cannot provide refused in one line."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import AgentRuntimes
from tests.test_agent_javascript import Session
from wasmrun import component_tools
from wasmrun.agent.runtimes import javascript

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def compiled(agent_runtimes: AgentRuntimes) -> Iterator[tuple[Any, Any]]:
    """(engine, component) of the runtime, built once for the test run, compiled once here."""
    import wasmtime
    from wasmtime.component import Component

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(agent_runtimes.tools))
        runtime = javascript.build(agent_runtimes.cache)
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    engine = wasmtime.Engine(config)
    yield engine, Component.from_file(engine, str(runtime))


@pytest.fixture(autouse=True)
def tools(agent_runtimes: AgentRuntimes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(component_tools.TOOLS_DIR_VARIABLE, str(agent_runtimes.tools))


@pytest.fixture
def session(compiled: tuple[Any, Any], tmp_path: Path) -> Session:
    return Session(compiled, tmp_path)


@pytest.fixture(scope="module")
def shared_session(compiled: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One instance for the property tests (a new instance per example would cost more than the check)."""
    return Session(compiled, tmp_path_factory.mktemp("builtins"))


def ok(session: Session, code: str, language: str = "javascript") -> str:
    status, out, err = session.exec(code, language=language)
    assert (status, err) == (0, ""), err
    return out


def test_sha256_sha1_md5_sha224_of_abc_equal_hashlibs(session: Session) -> None:
    out = ok(session, "const { createHash } = require('crypto');"
                      "for (const a of ['sha256', 'sha1', 'md5', 'sha224', 'SHA-256'])"
                      " console.log(createHash(a).update('a').update(Buffer.from('bc')).digest('hex'));"
                      "console.log(createHash('sha256').update('abc').digest('base64'),"
                      " createHash('md5').update('').digest().length)")
    expected = [hashlib.new(a, b"abc").hexdigest() for a in ("sha256", "sha1", "md5", "sha224", "sha256")]
    assert out.splitlines() == [*expected, f"{base64.b64encode(hashlib.sha256(b'abc').digest()).decode()} 16"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), key=st.binary(max_size=100))
def test_every_digest_and_hmac_equals_pythons(shared_session: Session, data: bytes, key: bytes) -> None:
    """Lengths around the 55/56/64-byte padding boundaries and keys longer than a block included."""
    code = (f"const c = require('node:crypto'); const d = Buffer.from('{data.hex()}', 'hex');"
            f" const k = Buffer.from('{key.hex()}', 'hex');"
            " console.log(['md5', 'sha1', 'sha224', 'sha256'].map((a) => [c.createHash(a).update(d).digest('hex'),"
            " c.createHmac(a, k).update(d).digest('hex')].join(' ')).join(' '))")
    expected = " ".join(f"{hashlib.new(a, data).hexdigest()} {hmac.new(key, data, a).hexdigest()}"
                        for a in ("md5", "sha1", "sha224", "sha256"))
    assert ok(shared_session, code) == expected + "\n"


def test_an_unsupported_digest_is_one_clear_error(session: Session) -> None:
    status, _, err = session.exec("require('crypto').createHash('sha512')")
    assert status == 1
    assert err.splitlines()[0] == ("Error: Digest method not supported: 'sha512' (the sandbox computes md5, sha1, "
                                   "sha224, sha256)")


def test_random_values_uuids_and_bytes_come_from_the_hosts_source(session: Session) -> None:
    out = ok(session, "const c = require('crypto');"
                      "const ids = new Set(Array.from({ length: 200 }, () => c.randomUUID()));"
                      "console.log(ids.size, [...ids][0]);"
                      "const a = c.getRandomValues(new Uint32Array(64)); const b = crypto.getRandomValues(new "
                      "Uint8Array(4096));"
                      "console.log(a.some((x) => x > 2 ** 31), new Set(b).size > 200, "
                      "c.randomBytes(16).toString('hex').length,"
                      " c.randomInt(10) < 10, c.webcrypto.getRandomValues === crypto.getRandomValues);"
                      "try { c.getRandomValues(new Uint8Array(65537)) } catch (e) { console.log(e.name) }"
                      "c.randomBytes(3, (e, buf) => console.log('async', e, buf.length));")
    lines = out.splitlines()
    count, first = lines[0].split()
    assert count == "200" and uuid.UUID(first).version == 4
    assert lines[1:] == ["true true 32 true true", "QuotaExceededError", "async null 3"]
    # a new instance does not repeat the last one's numbers (no seed snapshotted into the component)
    again = ok(session, "console.log(require('crypto').randomUUID())")
    assert again.strip() not in out


def test_buffer_encodes_decodes_and_reads_like_nodes(session: Session) -> None:
    out = ok(session, "const b = Buffer.from('héllo wörld €');"
                      "console.log(b.length, b.toString('hex'), b.toString('base64'), b.toString('base64url'));"
                      "console.log(Buffer.from(b.toString('base64'), 'base64').equals(b), "
                      "Buffer.from('68656c6c6f', 'hex').toString(),"
                      " Buffer.from([104, 105]).toString('latin1'), Buffer.byteLength('€'), Buffer.isBuffer(b), "
                      "b instanceof Uint8Array);"
                      "const c = Buffer.concat([Buffer.from('ab'), new Uint8Array([99])]);"
                      "console.log(c.toString(), c.slice(1).toString(), c.indexOf('c'), c.includes('bc'), "
                      "JSON.stringify(c));"
                      "const n = Buffer.alloc(8); n.writeUInt32BE(0xdeadbeef, 0); n.writeInt16LE(-2, 4);"
                      "console.log(n.readUInt32BE(0).toString(16), n.readInt16LE(4), n.readUInt8(0), n);"
                      "console.log(Buffer.alloc(4, 'ab').toString(), Buffer.compare(Buffer.from('a'), "
                      "Buffer.from('b')),"
                      " require('buffer').Buffer === Buffer);"
                      "try { n.readUInt32LE(6) } catch (e) { console.log(e.code) }")
    text = "héllo wörld €".encode()
    assert out.splitlines() == [
        f"{len(text)} {text.hex()} {base64.b64encode(text).decode()} "
        f"{base64.urlsafe_b64encode(text).decode().rstrip('=')}",
        "true hello hi 3 true true",
        'abc bc 2 true {"type":"Buffer","data":[97,98,99]}',
        "deadbeef -2 222 <Buffer de ad be ef fe ff 00 00>",
        "abab -1 true",
        "ERR_OUT_OF_RANGE",
    ]


def test_util_format_inspect_promisify_and_text_codecs(session: Session) -> None:
    out = ok(session, "const util = require('util');"
                      "console.log(util.format('%s=%d %j', 'n', 42, { a: [1] }), util.inspect('x'), "
                      "util.inspect({ a: { b: 1 } }));"
                      "const later = util.promisify((a, b, cb) => setTimeout(() => cb(null, a + b), 1));"
                      "const fails = util.promisify((cb) => cb(new Error('nope')));"
                      "console.log(await later(2, 3), await fails().catch((e) => e.message));"
                      "const bytes = new util.TextEncoder().encode('€'); console.log(bytes, new "
                      "util.TextDecoder().decode(bytes));"
                      "console.log(util.isDeepStrictEqual({ a: [1, new Map([[1, 2]])] }, { a: [1, new Map([[1, "
                      "2]])] }),"
                      " util.isDeepStrictEqual([1], ['1']), util.types.isPromise(Promise.resolve()));"
                      "function A() {} function B() {} util.inherits(A, B); console.log(new A() instanceof B, "
                      "A.super_ === B)")
    assert out.splitlines() == ["n=42 {\"a\":[1]} 'x' { a: { b: 1 } }", "5 nope",
                                "Uint8Array(3) [ 226, 130, 172 ] €", "true false true", "true true"]


def test_events_emitter_on_once_off_and_error(session: Session) -> None:
    out = ok(session, "const EventEmitter = require('events'); const { once } = require('node:events');"
                      "class Bus extends EventEmitter {} const bus = new Bus(); const seen = [];"
                      "const f = (x) => seen.push('on' + x); bus.on('e', f); bus.once('e', (x) => "
                      "seen.push('once' + x));"
                      "bus.prependListener('e', (x) => seen.push('first' + x));"
                      "console.log(bus.emit('e', 1), bus.emit('e', 2), bus.listenerCount('e')); bus.off('e', f); "
                      "bus.emit('e', 3);"
                      "console.log(seen.join(' '), bus.emit('none'), bus.eventNames());"
                      "try { bus.emit('error', new Error('boom')) } catch (e) { console.log('thrown', e.message) }"
                      "setTimeout(() => bus.emit('ready', 'a', 'b'), 1); console.log(await once(bus, 'ready'));"
                      "console.log(EventEmitter.EventEmitter === EventEmitter);"
                      "function Old() { EventEmitter.call(this); } require('util').inherits(Old, EventEmitter);"
                      "const old = new Old(); old.on('x', (v) => console.log('old', v)); old.emit('x', 1);"
                      "console.log(new Old().listenerCount('x'))")
    assert out.splitlines() == ["true true 2", "first1 on1 once1 first2 on2 first3 false [ 'e' ]", "thrown boom",
                                "[ 'a', 'b' ]", "true", "old 1", "0"]


def test_os_assert_timers_and_process(session: Session) -> None:
    out = ok(session, "const os = require('os'); console.log(JSON.stringify(os.EOL), os.platform(), os.arch(), "
                      "os.tmpdir(),"
                      " require('process') === process, typeof require('node:timers').setTimeout);"
                      "const assert = require('assert');"
                      "assert(true); assert.strictEqual(1, 1); assert.deepStrictEqual({ a: [1, { b: 2 }] }, { a: "
                      "[1, { b: 2 }] });"
                      "assert.throws(() => { throw new TypeError('bad') }, TypeError); assert.throws(() => { "
                      "throw new Error('x1') }, /x\\d/);"
                      "for (const f of [() => assert.strictEqual(1, 2), () => assert.deepStrictEqual([1], [2]), "
                      "() => assert(0, 'custom'),"
                      " () => assert.throws(() => {}), () => require('node:assert/strict').equal(1, '1')]) {"
                      " try { f(); console.log('passed') } catch (e) { console.log(e.name, e.code, "
                      "JSON.stringify(e.message.split('\\n')[0])) } }"
                      "await assert.rejects(Promise.reject(new Error('r')), { message: 'r' });"
                      "console.log(await require('timers/promises').setTimeout(1, 'slept'))")
    assert out.splitlines() == [
        '"\\n" wasi wasm32 /tmp true function',
        'AssertionError ERR_ASSERTION "Expected values to be strictly equal:"',
        'AssertionError ERR_ASSERTION "Expected values to be strictly deep-equal:"',
        'AssertionError ERR_ASSERTION "custom"',
        'AssertionError ERR_ASSERTION "Missing expected exception."',
        'AssertionError ERR_ASSERTION "Expected values to be strictly equal:"',
        "slept",
    ]


URLS = [
    ("https://User:Pw@Example.COM:443/a/./b/../c d?q=1 2&r=é#frag ment", None),
    ("http://example.com:8080", None),
    ("../up?x#y", "http://h/a/b/c"),
    ("/root", "https://h:81/a/b?q"),
    ("?only", "https://h/a/b?q#f"),
    ("#h", "https://h/a/b?q"),
    ("//other/p", "https://h/a"),
    ("mailto:someone@example.com", None),
    ("file:///tmp/x%20y.txt", None),
    ("HTTP://h/%7Efoo/", None),
]


def test_url_and_search_params_parse_resolve_and_serialise_like_node(session: Session) -> None:
    cases = json.dumps(URLS)
    code = (f"for (const [input, base] of {cases}) {{ const u = base === null ? new URL(input) : new URL(input, base);"
            " console.log(JSON.stringify([u.href, u.protocol, u.username, u.password, u.host, u.hostname, u.port,"
            " u.pathname, u.search, u.hash, u.origin])) }")
    out = ok(session, code)
    # what Node 20 prints for the same inputs (node -e, on this machine)
    expected = [
        ["https://User:Pw@example.com/a/c%20d?q=1%202&r=%C3%A9#frag%20ment", "https:", "User", "Pw", "example.com",
         "example.com", "", "/a/c%20d", "?q=1%202&r=%C3%A9", "#frag%20ment", "https://example.com"],
        ["http://example.com:8080/", "http:", "", "", "example.com:8080", "example.com", "8080", "/", "", "",
         "http://example.com:8080"],
        ["http://h/a/up?x#y", "http:", "", "", "h", "h", "", "/a/up", "?x", "#y", "http://h"],
        ["https://h:81/root", "https:", "", "", "h:81", "h", "81", "/root", "", "", "https://h:81"],
        ["https://h/a/b?only", "https:", "", "", "h", "h", "", "/a/b", "?only", "", "https://h"],
        ["https://h/a/b?q#h", "https:", "", "", "h", "h", "", "/a/b", "?q", "#h", "https://h"],
        ["https://other/p", "https:", "", "", "other", "other", "", "/p", "", "", "https://other"],
        ["mailto:someone@example.com", "mailto:", "", "", "", "", "", "someone@example.com", "", "", "null"],
        ["file:///tmp/x%20y.txt", "file:", "", "", "", "", "", "/tmp/x%20y.txt", "", "", "null"],
        ["http://h/%7Efoo/", "http:", "", "", "h", "h", "", "/%7Efoo/", "", "", "http://h"],
    ]
    assert [json.loads(line) for line in out.splitlines()] == expected
    out = ok(session, "const { URL: U, URLSearchParams: P, fileURLToPath, pathToFileURL } = require('node:url');"
                      "const u = new U('https://h/p?a=1&b=x+y&a=2'); u.searchParams.append('c', 'd&e f');"
                      "u.searchParams.set('a', '3'); u.hash = 'top';"
                      "console.log(u.href, u.searchParams.getAll('a'), u.searchParams.get('b'), U === URL);"
                      "const p = new P({ k: 'v w', 'é': '!' }); p.sort(); console.log(p.toString(), "
                      "[...p.keys()], p.has('k'));"
                      "console.log(fileURLToPath('file:///tmp/x%20y.txt'), pathToFileURL('/a b').href, "
                      "URL.canParse('nope'));"
                      "try { new URL('not a url') } catch (e) { console.log(e.code, e.message, e.input) }")
    assert out.splitlines() == ["https://h/p?a=3&b=x+y&c=d%26e+f#top [ '3' ] x y true",
                                "k=v+w&%C3%A9=%21 [ 'k', 'é' ] true", "/tmp/x y.txt file:///a%20b false",
                                "ERR_INVALID_URL Invalid URL not a url"]


@pytest.mark.parametrize("name", ["child_process", "node:net", "http", "worker_threads", "node:https"])
def test_a_built_in_the_sandbox_cannot_provide_is_one_line_naming_it(session: Session, name: str) -> None:
    status, out, err = session.exec(f"require({name!r})")
    bare = name.removeprefix("node:")
    assert (status, out) == (1, "")
    assert err.splitlines()[0] == (f"Error: Cannot find module '{name}': Node's '{bare}' module is not available in "
                                   "the sandbox, which has no processes, network, threads or inspector")


def test_a_built_in_not_written_for_the_sandbox_names_the_ones_that_are(session: Session) -> None:
    status, _, err = session.exec("require('zlib')")
    assert status == 1 and re.fullmatch(r"Error: Cannot find module 'zlib': Node's 'zlib' module is not available in "
                                        r"the sandbox, whose built-ins are 'assert', .*'crypto', .*'util/types'",
                                        err.splitlines()[0])
    status, _, err = session.exec("require('node:nope')")
    assert status == 1 and err.splitlines()[0] == ("Error: Cannot find module 'node:nope': 'nope' is not one of "
                                                   "Node's built-in modules")


def test_node_prefix_tricks_reach_nothing_but_built_ins(session: Session) -> None:
    (session.root / "x.js").write_text("module.exports = 'session file'")
    for trick in ("node:./x", "node:/x.js", "node:../x", "node:fs/../x", "node:node:fs"):
        status, out, err = session.exec(f"console.log(require({trick!r}))")
        assert (status, out) == (1, ""), trick
        assert err.startswith(f"Error: Cannot find module '{trick}': "), err
    assert ok(session, "console.log(require('node:fs') === require('fs'), require('node:path').join('a', 'b'))") == \
        "true a/b\n"


def test_builtins_are_imported_in_typescript_with_their_types_stripped(session: Session) -> None:
    code = ("import { createHash, randomUUID } from 'node:crypto';\nimport { EventEmitter } from 'events';\n"
            "import { Buffer } from 'buffer';\nimport * as os from 'os';\n"
            "const e: EventEmitter = new EventEmitter(); let got: string = '';\n"
            "e.on('x', (v: string) => { got = v; }); e.emit('x', createHash('sha1').update('abc').digest('hex'));\n"
            "console.log(got, randomUUID().length, Buffer.from('hi').toString('hex'), os.EOL.length)")
    assert ok(session, code, language="typescript") == f"{hashlib.sha1(b'abc').hexdigest()} 36 6869 1\n"


BUILTIN_NAMES = {"assert", "assert/strict", "buffer", "crypto", "events", "fs", "fs/promises", "os", "path",
                 "path/posix", "process", "timers", "timers/promises", "url", "util", "util/types"}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example("\n")  # a newline in the name: the message stays one line (CI found it)
@example("a\u2028b")
@given(st.text(max_size=30) | st.sampled_from(sorted(BUILTIN_NAMES)).map(lambda n: f"node:{n}")
       | st.from_regex(r"(node:)?(@[a-z]{1,3}/)?[a-z.]{1,6}(/[a-z.\\]{0,4}){0,3}", fullmatch=True))
def test_any_name_required_is_a_built_in_or_one_module_not_found_line(shared_session: Session, name: str) -> None:
    """No name makes require reach a package, a file outside the session or a crash: the session
    (made empty) has no files and no packages, so anything but a built-in is MODULE_NOT_FOUND."""
    code = (f"try {{ const m = require({json.dumps(name)}); console.log('found', typeof m) }}"
            " catch (e) { console.log(e.code, JSON.stringify(String(e.message).split('\\n').length)) }")
    out = ok(shared_session, code)
    bare = name.removeprefix("node:")
    functions = {"assert", "assert/strict", "events"}
    expected = "MODULE_NOT_FOUND 1" if bare not in BUILTIN_NAMES else \
        "found function" if bare in functions else "found object"
    assert out == f"{expected}\n", (name, out)
