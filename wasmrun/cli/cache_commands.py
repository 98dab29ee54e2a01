"""``wasmrun cache ...``: what the build cache holds, and emptying it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wasmrun.cli.output import handles_errors, print_json

app = typer.Typer(help="Show or empty the build cache (and exec's compiled modules).", no_args_is_help=True)


@app.command("info")
@handles_errors
def info_command(
    project: Annotated[str | None, typer.Argument(help="A project: say whether `compile PROJECT` would be a hit, and if not, which input differs.", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Where the caches are, how many entries and bytes they hold, and the size limit; with a
    PROJECT, whether a plain `compile PROJECT` would be a hit, and why not."""
    from wasmrun.cache import cache_info

    info = cache_info()
    if project is not None:
        info["project"] = project_lookup(project)
    if as_json:
        print_json(info)
        return
    if project is not None:
        found = info["project"]
        typer.echo(f"{found['path']}: {'hit' if found['hit'] else 'miss'}: {found['reason']}")
    compiled: dict[str, Any] = info["compiled_modules"]
    typer.echo(f"build cache:      {info['location']}")
    typer.echo(f"  {info['entries']} entries, {human_bytes(info['bytes'])} of {human_bytes(info['limit'])}"
               f"{' (off: WASMRUN_CACHE_MAX_BYTES=0)' if info['limit'] == 0 else ''}")
    typer.echo(f"compiled modules: {compiled['location']}")
    typer.echo(f"  {compiled['entries']} entries, {human_bytes(compiled['bytes'])}")


@app.command("clear")
@handles_errors
def clear_command() -> None:
    """Delete every cached build and compiled module."""
    from wasmrun.cache import cache_info, clear_cache

    before = cache_info()
    freed = before["bytes"] + before["compiled_modules"]["bytes"]
    removed = clear_cache()
    typer.echo(f"removed {removed} entries ({human_bytes(freed)})" if removed else "the cache was empty")


def project_lookup(path: str) -> dict[str, Any]:
    """What the build cache would answer to a plain ``compile PATH`` now (nothing is restored)."""
    from wasmrun.building import project_path
    from wasmrun.cache import BuildCache
    from wasmrun.manifests import invocation, lookup

    project = project_path(path)
    found = lookup(BuildCache.default(), invocation(project))
    return {"path": str(project), "hit": found.candidate is not None, "reason": found.reason}


def human_bytes(count: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
