"""``compile``, ``detect`` and ``clean``: a project in, a module out."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wasmrun.cli.output import err, handles_errors, print_json

if TYPE_CHECKING:
    from wasmrun.outputs import Kept

PathArg = Annotated[str, typer.Argument(help="The project directory.", show_default=True)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
LanguageOpt = Annotated[str | None, typer.Option("--language", "-l", help="Use this language plugin, by name.")]


@handles_errors
def compile_command(
    path: PathArg = ".",
    extra_args: Annotated[list[str] | None, typer.Argument(
        help="After --: extra arguments passed to the compiler as-is.", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output directory.", show_default="PATH/wasmrun-out")] = None,
    optimization: Annotated[str | None, typer.Option("--optimization", help="debug, release or size.", show_default="release, or the project's wasmrun.toml")] = None,
    language: LanguageOpt = None,
    target: Annotated[str | None, typer.Option("--target", help="wasm (a plain or WASI module), web (with JS glue) or component (a WASI 0.2 component: the module wrapped, a library exporting its wit/ world or one generated from its exports).", show_default="wasm, or the project's wasmrun.toml")] = None,
    toolchain: Annotated[str | None, typer.Option("--toolchain", help="Pick one of the plugin's toolchains (e.g. clang, zig, emcc).")] = None,
    debug_info: Annotated[bool, typer.Option("--debug-info", help="Keep debug information.")] = False,
    as_json: JsonOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Print the exact toolchain commands.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Build even when the build cache has the result (the new build is stored beside the others).")] = False,
    no_opt: Annotated[bool, typer.Option("--no-opt", help="Do not run wasm-opt over release and size builds.")] = False,
) -> None:
    """Build a project to WebAssembly."""
    from wasmrun.cli.fast import compile_main

    code = compile_main(path, output=None if output is None else str(output), optimization=optimization,
                        language=language, target=target, toolchain=toolchain, debug_info=debug_info,
                        as_json=as_json, no_opt=no_opt, verbose=verbose, no_cache=no_cache, extra_args=extra_args)
    if code:
        raise typer.Exit(code)


@handles_errors
def detect_command(path: PathArg = ".", as_json: JsonOpt = False) -> None:
    """Show which plugin claims a project, who else could, and the evidence."""
    from wasmrun.building import default_plugins, detect, project_path

    detection = detect(project_path(path), default_plugins())
    if as_json:
        print_json(detection.as_dict())
        if detection.chosen is None:
            raise typer.Exit(2)
        return
    if detection.chosen is None:
        err(f"error: {detection.missing.message}" if detection.missing is not None
            else f"error: no language plugin claims {detection.project_dir}")
        raise typer.Exit(2)
    for index, (name, claim) in enumerate(detection.claims):
        marker = "->" if index == 0 else "  "
        kind = " (fallback)" if claim.fallback else ""
        typer.echo(f"{marker} {name}{kind}: {', '.join(claim.evidence)}{f' ({claim.note})' if claim.note else ''}")
    chosen = detection.claims[0][1]
    if chosen.target is not None:
        reason = f" ({chosen.target_reason})" if chosen.target_reason else ""
        typer.echo(f"target: {chosen.target.value}{reason}; --target or wasmrun.toml's target overrides it")


@handles_errors
def clean_command(
    path: PathArg = ".",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The output directory used to build.")] = None,
    language: LanguageOpt = None,
    make_clean: Annotated[bool, typer.Option("--make-clean", help="Also run the project's own `make clean` "
                                             "(never run without this flag).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete what wasmrun built for a project (and nothing else); say what was kept and why."""
    from wasmrun.building import clean_project, default_plugins, project_path
    from wasmrun.outputs import kept_outputs, resolve_output_dir

    project = project_path(path)
    out = resolve_output_dir(project, output)
    removed = clean_project(project, default_plugins(), output_dir=out, language=language, make_clean=make_clean)
    kept = kept_outputs(out)
    if as_json:
        print_json({"output_dir": str(out), "removed": [str(p) for p in removed],
                    "kept": [{"path": str(k.path), "reason": k.reason, "message": k.message} for k in kept]})
        return
    typer.echo(f"removed {len(removed)} file(s)" if removed else "nothing to clean")
    _print_kept(kept, project)


#: How many of the user's own files ``clean`` names before it only counts them.
KEPT_SHOWN = 10


def _print_kept(kept: list[Kept], project: Path) -> None:
    """One line per thing kept, the user's own files summarised past :data:`KEPT_SHOWN`."""
    theirs = [k for k in kept if k.reason == "not-wasmrun"]
    shown = [k for k in kept if k.reason != "not-wasmrun"] + theirs[:KEPT_SHOWN]
    for item in shown:
        try:
            name = item.path.relative_to(project).as_posix()
        except ValueError:
            name = str(item.path)
        suffix = "/" if item.path.is_dir() and not item.path.is_symlink() else ""
        typer.echo(f"kept {name}{suffix}: {item.message}")
    if len(theirs) > KEPT_SHOWN:
        typer.echo(f"kept {len(theirs) - KEPT_SHOWN} more not made by wasmrun (--json lists them all)")


def _choice(option: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    from wasmrun.errors import UsageError

    if value is not None and value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, not '{value}'")
    return value


def register(app: typer.Typer) -> None:
    app.command("compile", context_settings={"allow_interspersed_args": True})(compile_command)
    app.command("detect")(detect_command)
    app.command("clean")(clean_command)
