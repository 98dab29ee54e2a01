"""``doctor``: which languages can build here, which tools are missing and how to get them."""

from __future__ import annotations

from typing import Annotated

import typer

from wasmrun.cli.output import handles_errors, print_json


@handles_errors
def doctor_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    no_probe: Annotated[bool, typer.Option("--no-probe", help="Only look tools up; skip the probe compiles.")] = False,
) -> None:
    """Check every language's toolchain, with a probe compile where a tool can be present yet broken."""
    from wasmrun import component_tools
    from wasmrun.building import default_plugins, doctor
    from wasmrun.headless.browsers import BROWSER_REPORT, browser_report
    from wasmrun.models import unusable_tools
    from wasmrun.postprocess import POSTPROCESS_REPORT, tool_status

    plugins = default_plugins()
    reports = doctor(plugins, probe=not no_probe)
    failed = plugins.failures()
    wasm_opt = tool_status()
    components = component_tools.statuses()
    browser_tools = browser_report(probe=not no_probe)
    browser_ready = not unusable_tools(browser_tools)
    if as_json:
        print_json([
            *({"plugin": r.plugin, "target": r.target.value, "ready": r.ready, "error": r.error,
               "tools": [t.model_dump(mode="json") for t in r.tools]}
              for r in reports),
            *({"plugin": r.name, "target": None, "ready": False, "error": f"failed to load: {r.error}",
               "tools": []} for r in failed),
            {"plugin": POSTPROCESS_REPORT, "target": "wasm", "ready": True, "error": None,
             "tools": [wasm_opt.model_dump(mode="json")]},
            {"plugin": component_tools.DOCTOR_REPORT, "target": "component", "ready": True, "error": None,
             "tools": [t.model_dump(mode="json") for t in components]},
            {"plugin": BROWSER_REPORT, "target": "web", "ready": browser_ready, "error": None,
             "tools": [t.model_dump(mode="json") for t in browser_tools]},
        ])
        return
    for report in reports:
        status = "ready" if report.ready else "NOT READY"
        typer.echo(f"{report.plugin} (--target {report.target.value}): {status}")
        if report.error:
            typer.echo(f"    error: {report.error}")
        for tool in report.tools:
            if tool.usable:
                typer.echo(f"    ok       {tool.name} {tool.version or ''} {tool.path or ''}".rstrip())
            elif tool.found:
                typer.echo(f"    BROKEN   {tool.name} {tool.path}: {tool.probe_error}")
            else:
                label = "optional" if tool.optional else "MISSING "
                typer.echo(f"    {label} {tool.name}: {tool.install_hint}")
    for record in failed:
        typer.echo(f"{record.name} ({record.source}): FAILED TO LOAD")
        typer.echo(f"    error: {record.error}")
    typer.echo(f"{POSTPROCESS_REPORT} (release and size builds of every language): "
               + ("wasm-opt" if wasm_opt.found else "off"))
    if wasm_opt.found:
        typer.echo(f"    ok       {wasm_opt.name} {wasm_opt.version or ''} {wasm_opt.path}")
    else:
        typer.echo(f"    optional {wasm_opt.name}: {wasm_opt.install_hint}")
    typer.echo(f"{component_tools.DOCTOR_REPORT} (--target component of every language): ready")
    for tool in components:
        if tool.found:
            typer.echo(f"    ok       {tool.name} {tool.version} {tool.path}")
        else:
            typer.echo(f"    later    {tool.name}: {tool.install_hint}")
    typer.echo(f"{BROWSER_REPORT} (run --headless): " + ("ready" if browser_ready else "NOT READY"))
    for tool in browser_tools:
        if tool.found:
            typer.echo(f"    ok       {tool.name} {tool.version or ''} {tool.path or ''}".rstrip())
        else:
            typer.echo(f"    MISSING  {tool.name}: {tool.install_hint}")


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor_command)
