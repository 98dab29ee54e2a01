"""``wasmrun init javascript`` / ``init typescript``: a command and a library, each building and
running as written."""

from __future__ import annotations

_COMMAND_PACKAGE = """\
{
  "name": "hello",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "main": "MAIN"
}
"""

_LIBRARY_PACKAGE = """\
{
  "name": "hello-lib",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "main": "MAIN"
}
"""

_COMMAND_JS = """\
// A WASI command: console.log writes to stdout, process.argv and process.env are the program's.
const name = process.argv[2] ?? "world";
console.log(`hello, ${name}, from JavaScript`);
if (process.env.GREETING_FAIL) {
  console.error("asked to fail");
  process.exit(3);
}
"""

_COMMAND_TS = """\
// A WASI command: console.log writes to stdout, process.argv and process.env are the program's.
function greeting(name: string): string {
  return `hello, ${name}, from TypeScript`;
}

const name: string = process.argv[2] ?? "world";
console.log(greeting(name));
if (process.env.GREETING_FAIL) {
  console.error("asked to fail");
  process.exit(3);
}
"""

_WORLD = """\
package example:hello;

world hello {
  export add: func(a: s32, b: s32) -> s32;
  export greet: func(name: string) -> string;
}
"""

_LIBRARY_JS = """\
// A library component: each export is a function of the world in wit/.
export function add(a, b) {
  return a + b;
}

export function greet(name) {
  return `hello, ${name}`;
}
"""

_LIBRARY_TS = """\
// A library component: each export is a function of the world in wit/.
export function add(a: number, b: number): number {
  return a + b;
}

export function greet(name: string): string {
  return `hello, ${name}`;
}
"""

_TSCONFIG = """\
{
  "compilerOptions": {
    "target": "es2022",
    "module": "es2022",
    "moduleResolution": "bundler",
    "strict": true,
    "skipLibCheck": true,
    "lib": ["es2022"],
    "types": []
  },
  "include": ["src", "wasmrun-env.d.ts"]
}
"""

_GITIGNORE = "node_modules/\nwasmrun-out/\n"


def template(flavour: str, typescript: bool) -> dict[str, str] | None:
    """The project's files by relative path; None for a flavour not offered."""
    if flavour not in ("command", "library"):
        return None
    library = flavour == "library"
    main = "src/index.ts" if typescript else "src/index.js"
    package = (_LIBRARY_PACKAGE if library else _COMMAND_PACKAGE).replace("MAIN", main)
    source = (_LIBRARY_TS if library else _COMMAND_TS) if typescript else (_LIBRARY_JS if library else _COMMAND_JS)
    files = {"package.json": package, main: source, ".gitignore": _GITIGNORE}
    if library:
        files["wit/world.wit"] = _WORLD
    if typescript:
        from wasmrun.languages.javascript.build import TYPES

        files["tsconfig.json"] = _TSCONFIG
        files["wasmrun-env.d.ts"] = TYPES.read_text(encoding="utf-8")
    return files
