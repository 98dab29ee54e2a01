"""The command-line interface: a thin typer layer over :mod:`wasmrun.building` and friends."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; Ctrl-C anywhere ends quietly with exit code 130."""
    try:
        from wasmrun.cli.app import app

        app(args=argv, prog_name="wasmrun")
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
