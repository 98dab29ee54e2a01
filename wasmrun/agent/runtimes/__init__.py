"""The runtime protocol: how a language's interpreter runs inside a sandbox worker.

A runtime is a WebAssembly **component** built once per machine (cached under wasmrun's cache
directory, named by a digest of the pinned tool versions and the runtime's own source) that
imports only WASI 0.2 and exports this interface (:data:`CELL_WIT`)::

    package wasmrun:sandbox@0.1.0;
    interface cell {
      record request {
        code: string,                     // the source to run
        filename: string,                 // shown in tracebacks; sys.argv[0] / process.argv[1]
        stdin: list<u8>,                  // this exec's standard input, whole
        args: list<string>,               // sys.argv[1:] / process.argv.slice(2)
        env: list<tuple<string, string>>, // this exec's environment, whole (replaces the last one's)
        paths: list<string>,              // the exec's packages: sys.path entries / npm package dirs
      }
      /// Runs code in the interpreter's persistent global namespace; returns the exit code
      /// (SystemExit's code, 1 for an uncaught exception after printing its traceback to stderr).
      run: func(req: request) -> s32;
    }
    world sandbox { include wasi:cli/imports@0.2.12; export cell; }

How the worker (:mod:`wasmrun.agent.worker`) runs it:

* **One instance per session**, in its own ``wasmtime.Store``, kept between execs: that is the
  session's state. ``fresh`` execs get a new instance. The worker keeps one pre-instantiated
  spare per runtime, so a new session does not wait for instantiation.
* **What the guest sees**: the session's directory preopened at ``/`` (read-write) and, for
  runtimes with :attr:`Runtime.package_cache`, the package cache preopened READ-ONLY at
  ``/.packages``. Nothing else of the host: no host environment (only the request's ``env``), no
  arguments but the request's, no network (no socket address is allowed), no inherited stdin.
  The working directory is ``/`` at the start of every exec.
* **Output**: stdout and stderr are the store's custom WASI streams (a callback in the worker),
  forwarded to the server as they arrive, and counted: past the session's ``output_bytes`` the
  rest is dropped, the exec is stopped (epoch) and reported with ``output_truncated`` and
  ``error = "output"``.
* **Limits** are set on the store before every ``run``: fuel (``fuel``), an epoch deadline
  (``timeout_s``; a timer thread increments the engine's epoch), and the store's memory limit
  (``memory_bytes``; a ``memory.grow`` past it fails, which the interpreter sees as out of
  memory). A trap (fuel, epoch, or a crash of the interpreter) discards the instance: the exec's
  ``error`` says why, and the session's NEXT exec runs in a new instance and says
  ``state_lost: true``. Files are kept.
* A runtime has no other contract: the sandbox writes files, merges env and resolves the entry
  file before ``run``; the runtime only runs code.

A language module (``python.py``; ``javascript.py`` by agentC) defines a :class:`Runtime`:
its :attr:`Runtime.build` makes the component (once; cached) and returns its path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: The interface every runtime exports, and its version (a change is a new version).
CELL_INTERFACE = "wasmrun:sandbox/cell@0.1.0"
WASI_VERSION = "0.2.12"
WORLD = "sandbox"

CELL_WIT = f"""package wasmrun:sandbox@0.1.0;

interface cell {{
  record request {{
    code: string,
    filename: string,
    stdin: list<u8>,
    args: list<string>,
    env: list<tuple<string, string>>,
    paths: list<string>,
  }}
  /// Runs code in the interpreter's persistent global namespace; returns the exit code.
  run: func(req: request) -> s32;
}}

world {WORLD} {{
  include wasi:cli/imports@{WASI_VERSION};
  export cell;
}}
"""


@dataclass(frozen=True)
class Runtime:
    """One language's interpreter as a component."""

    language: str
    #: ``build(cache_dir)``: the component's path, built into ``cache_dir`` on first use.
    build: Callable[[Path], Path]
    #: What a source is called in tracebacks when the request gives no entry file.
    default_filename: str = "<exec>"
    #: Whether the READ-ONLY package cache is preopened at ``/.packages``.
    package_cache: bool = False
    #: The module whose ``install(specs, cache) -> guest paths`` installs an exec's ``packages``
    #: (hostile input) into the cache; the paths go to the runtime in ``request.paths``. None:
    #: the runtime takes no packages.
    installer: str | None = None
    #: What ``run`` returns when the interpreter ran out of memory and should not go on (its
    #: heap may be too full even to report it): the worker reports ``error: "memory"``, exit
    #: code 1 and one line on stderr, and discards the instance. None: the runtime has no such
    #: status (Python raises ``MemoryError`` and survives it).
    out_of_memory_status: int | None = None
    #: Host-side source transform before ``run`` (TypeScript to JavaScript):
    #: ``transform(language, code, filename) -> code``, given the request's language.
    transform: Callable[[str, str, str], str] | None = None
    #: Request languages this runtime serves besides :attr:`language` (``typescript`` on javascript).
    serves: tuple[str, ...] = field(default=())


#: Modules that define a runtime (a module that is not there yet, or fails to import, is skipped:
#: its language is then reported as unsupported).
RUNTIME_MODULES = ("wasmrun.agent.runtimes.python", "wasmrun.agent.runtimes.javascript")


def available() -> dict[str, Runtime]:
    """Every runtime this installation has, by each request language it serves."""
    found: dict[str, Runtime] = {}
    for name in RUNTIME_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for runtime in getattr(module, "RUNTIMES", ()):
            for language in (runtime.language, *runtime.serves):
                found[language] = runtime
    return found
