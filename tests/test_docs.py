"""The documentation matches the code: hooks, commands, exit codes, the README's test command,
and the writing-a-plugin example, which is registered and built here."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from wasmrun import errors, hookspecs

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def sections(text: str, level: str = "##") -> dict[str, str]:
    """Heading text (without a trailing ``{#id}``) to the body up to the next heading of that level."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.MULTILINE)
    pairs = zip(parts[1::2], parts[2::2], strict=True)
    return {re.sub(r"\s*\{#[^}]*\}$", "", head).strip(): body for head, body in pairs}


def hook_specs() -> dict[str, Callable[..., Any]]:
    return {name: func for name, func in vars(hookspecs).items()
            if callable(func) and hasattr(func, "wasmrun_spec")}


# -- (a) the hook reference ----------------------------------------------------------------------

def test_every_hook_documented_with_its_signature() -> None:
    documented = {}
    for heading, body in sections((DOCS / "plugins" / "hooks.md").read_text(encoding="utf-8")).items():
        match = re.fullmatch(r"(\w+)\((.*)\)", heading)
        assert match, f"hooks.md heading is not `name(params)`: {heading}"
        documented[match[1]] = ([p.strip() for p in match[2].split(",") if p.strip()], body)
    specs = hook_specs()
    assert specs, "no hookspecs found"
    assert sorted(documented) == sorted(specs), "hooks.md sections differ from wasmrun/hookspecs.py"
    for name, func in specs.items():
        params, body = documented[name]
        annotations = dict(func.__annotations__)
        returns = annotations.pop("return")
        assert params == list(annotations), f"{name}: documented parameters {params}, spec has {list(annotations)}"
        signature = f"def {name}({', '.join(f'{p}: {a}' for p, a in annotations.items())}) -> {returns}"
        assert signature in body, f"{name}: hooks.md lacks the exact signature `{signature}`"


# -- (b) every command and option ----------------------------------------------------------------

def commands() -> Iterator[tuple[str, Any]]:
    import typer.main

    from wasmrun.cli.app import app

    def walk(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from walk(sub, f"{path} {name}")

    yield from walk(typer.main.get_command(app), "wasmrun")


def test_every_command_and_option_documented() -> None:
    documented = sections((DOCS / "commands.md").read_text(encoding="utf-8"))
    found = [(path, command) for path, command in commands() if not command.hidden]  # hidden: aliases
    assert len(found) > 5
    for path, command in found:
        assert path in documented, f"docs/commands.md has no `## {path}` section"
        for param in command.params:
            names = [opt for opt in param.opts if opt.startswith("-")]
            if names and not param.hidden:
                assert any(f"`{opt}" in documented[path] for opt in names), f"{path}: option {names[0]} not documented"
    extra = set(documented) - {path for path, _ in found}
    assert not extra, f"docs/commands.md documents commands that do not exist: {sorted(extra)}"


# -- (c) exit codes ------------------------------------------------------------------------------

def test_exit_codes_match_errors_module() -> None:
    text = (DOCS / "reference" / "exit-codes.md").read_text(encoding="utf-8")
    documented = {name: int(code) for code, name in re.findall(r"^\| `(\d+)` \| `(EXIT_\w+)` \|", text, re.MULTILINE)}
    constants = {name: value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert documented == constants


# -- (d) the README's test command is what CI runs -----------------------------------------------

def test_readme_test_command_is_ci_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```sh\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)
    readme_command = blocks[1].strip()
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    ci_command = [line for line in ci_lines if line and not line.startswith("#")][-1]
    # The README's block installs nox first (CI's set-up does that itself), then runs it.
    assert readme_command.split("&&")[-1].strip() == ci_command


# -- (e) the writing-a-plugin example ------------------------------------------------------------

EXAMPLE = DOCS / "plugins" / "example_plugin.py"


def test_writing_md_includes_the_example() -> None:
    text = (DOCS / "plugins" / "writing.md").read_text(encoding="utf-8")
    assert "<!-- code: plugins/example_plugin.py " in text


#: A code block that copies a file (or a ``# --8<-- [start:NAME]`` section of one): the Markdown
#: holds the code itself, so a reader sees it on a code host too, and this test keeps the two equal.
CODE_COPY = re.compile(r"^<!-- code: (?P<spec>\S+) .*?-->\n```\w*\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def _code_of(spec: str) -> str:
    path, _, section = spec.partition(":")
    lines = (DOCS / path).read_text(encoding="utf-8").splitlines()
    if section:
        lines = lines[lines.index(f"# --8<-- [start:{section}]") + 1:lines.index(f"# --8<-- [end:{section}]")]
    else:
        lines = [line for line in lines if not re.match(r"\s*# --8<-- \[(start|end):", line)]
    return "\n".join(lines) + "\n"


def test_code_copied_into_the_docs_matches_its_file() -> None:
    copies = 0
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"^--8<--", text, re.MULTILINE), (
            f"{page}: an include line shows no code on a code host; copy the code in with a <!-- code: --> comment")
        for match in CODE_COPY.finditer(text):
            copies += 1
            assert match["body"] == _code_of(match["spec"]), (
                f"{page.relative_to(DOCS)}: the code copied from {match['spec']} differs from the file; copy it again")
    assert copies >= 9


@pytest.fixture
def example_plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wasmrun_docs_example_plugin", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_plugin_loads_claims_and_builds(example_plugin: ModuleType,
                                                make_project: Callable[..., Path]) -> None:
    from wasmrun.building import compile_project
    from wasmrun.plugins import load_plugins
    from wasmrun.testing import run_wasm

    plugins = load_plugins(entry_points=False)
    plugins.register(example_plugin, "greeting")
    assert plugins.records["greeting"].error is None
    assert plugins.info("greeting").name == "greeting"

    project = make_project({"greeting.txt": "hello from a plugin\n"}, name="greet")
    assert plugins.claims(project)[0][0] == "greeting"
    assert plugins.claims(make_project({"main.wat": "(module)"}, name="wat"))[0][0] == "wat"
    assert plugins.claims(make_project({"README.md": "nothing"}, name="empty")) == []

    result = compile_project(project, plugins)
    assert result.plugin == "greeting"
    run = run_wasm(result.wasm_path)
    assert (run.exit_code, run.stdout) == (0, "hello from a plugin\n")


# -- (f) the generated CLI reference is current ---------------------------------------------------

def test_cli_reference_is_generated_from_the_app_and_current() -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert current == module.render(), "docs/reference/cli.md is out of date: run python scripts/cli_reference.py"
