#!/usr/bin/env python3
"""greet: a wasmrun command plugin, in one file, with nothing but Python's standard library.

A greet project is a directory holding ``hello.greet``; its build is a WASI command that prints
the file's text. The "compiler" writes the WebAssembly binary itself. wasmrun runs it as
``greet-command.py compile -p PROJECT -o OUTDIR`` (and ``can-handle``, ``check-deps``, ``clean``);
docs/plugins/command.md describes the protocol, and wasmrun's tests register this file and build with it.
"""

import argparse
import json
import sys
from pathlib import Path

SOURCE = "hello.greet"


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        done = (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def vec(items: list) -> bytes:
    return uleb(len(items)) + b"".join(items)


def name(text: str) -> bytes:
    return uleb(len(text)) + text.encode()


def section(number: int, body: bytes) -> bytes:
    return bytes([number]) + uleb(len(body)) + body


def i32(n: int) -> bytes:
    return b"\x41" + sleb(n)  # i32.const


def module(text: bytes) -> bytes:
    """(module (import fd_write) (memory 1) (data 16 text) (func _start: fd_write(1, iovec at 0)))"""
    fd_write = b"\x60" + vec([b"\x7f"] * 4) + vec([b"\x7f"])  # (i32 i32 i32 i32) -> i32
    start = b"\x60" + vec([]) + vec([])  # () -> ()
    code = (i32(0) + i32(16) + b"\x36\x02\x00"  # iovec.buf = 16
            + i32(4) + i32(len(text)) + b"\x36\x02\x00"  # iovec.len = len(text)
            + i32(1) + i32(0) + i32(1) + i32(8) + b"\x10\x00\x1a\x0b")  # drop(fd_write(1, 0, 1, 8)); end
    body = b"\x00" + code  # no locals
    pages = 1 + (16 + len(text)) // 65536
    return b"".join([
        b"\x00asm\x01\x00\x00\x00",
        section(1, vec([fd_write, start])),
        section(2, vec([name("wasi_snapshot_preview1") + name("fd_write") + b"\x00" + uleb(0)])),
        section(3, vec([uleb(1)])),
        section(5, vec([b"\x00" + uleb(pages)])),
        section(7, vec([name("memory") + b"\x02" + uleb(0), name("_start") + b"\x00" + uleb(1)])),
        section(10, vec([uleb(len(body)) + body])),
        section(11, vec([b"\x00" + i32(16) + b"\x0b" + uleb(len(text)) + text])),
    ])


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(prog="greet-command.py")
    parser.add_argument("subcommand", choices=["compile", "can-handle", "check-deps", "clean"])
    parser.add_argument("-p", "--project", type=Path)
    parser.add_argument("-o", "--output", type=Path)
    args, _extra = parser.parse_known_args(argv)
    if args.subcommand == "can-handle":
        if (args.project / SOURCE).is_file():
            print(SOURCE)  # the evidence, one file a line
            return 0
        return 1  # not ours
    if args.subcommand == "check-deps":
        print(json.dumps([]))  # no external tools
        return 0
    if args.subcommand == "clean":
        return 0  # the build leaves nothing outside OUTDIR
    text = (args.project / SOURCE).read_bytes()
    if not text.strip():
        print(f"{SOURCE} is empty: write the greeting in it", file=sys.stderr)
        return 1
    wasm = args.output / "greet.wasm"
    wasm.write_bytes(module(text))
    print(wasm.name)  # the last line ending in .wasm names the module
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
