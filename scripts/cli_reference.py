"""Write docs/reference/cli.md from the typer app itself: every command, argument and option with
its help text and default. `tests/test_docs.py` checks that the file in the repository is what
this script writes now, so the reference can never fall behind the CLI.

    python scripts/cli_reference.py            # rewrite docs/reference/cli.md
    python scripts/cli_reference.py --check    # exit 1 when it is out of date
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parents[1] / "docs" / "reference" / "cli.md"


def _commands(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from _commands(sub, f"{path} {name}")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render() -> str:
    import typer.main

    from wasmrun.cli.app import app

    root = typer.main.get_command(app)
    out = ["# CLI reference", "",
           "Generated from the command-line app by `scripts/cli_reference.py`; a test keeps it current.",
           "[Commands](../commands.md) explains each command with examples.", ""]
    for path, command in _commands(root, "wasmrun"):
        out += [f"## {path}", ""]
        doc = (command.help or "").split("\b")[0].strip()
        if doc:
            out += [_cell(doc), ""]
        params = [p for p in command.params if not p.hidden and "--help" not in p.opts]
        if params:
            out += ["| name | kind | default | help |", "|---|---|---|---|"]
            for param in params:
                kind = "argument" if param.param_type_name == "argument" else (
                    "flag" if getattr(param, "is_flag", False) else "option")
                names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts]) \
                    if kind != "argument" else f"`{(param.metavar or param.name or '').upper()}`"
                default = param.default
                shown = getattr(param, "show_default", None)
                if isinstance(shown, str):
                    default_text = shown
                elif default in (None, False, (), []) or callable(default):
                    default_text = ""
                else:
                    default_text = f"`{default}`"
                out.append(f"| {names} | {kind} | {_cell(default_text)} | {_cell(getattr(param, 'help', '') or '')} |")
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
