"""Commands' help wraps to the terminal's width: prose paragraphs are reflowed (typer's rich help
kept the docstrings' own line breaks, so every help came out ragged), paragraph breaks and
examples stay as written."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wasmrun.cli.help_text import reflow


def help_of(*command: str, columns: int) -> str:
    ran = subprocess.run([sys.executable, "-m", "wasmrun", *command, "--help"], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}, timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def description(text: str) -> list[list[str]]:
    """The paragraphs between the usage line and the first box, each as its lines (stripped)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Usage:")) + 1
    end = next((i for i, line in enumerate(lines) if line.lstrip().startswith("╭")), len(lines))
    paragraphs: list[list[str]] = [[]]
    for line in lines[start:end]:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


@pytest.mark.parametrize("columns", [60, 120])
@pytest.mark.parametrize("command", [("run",), ("exec",), ("agent",)])
def test_help_paragraphs_fill_the_terminal(command: tuple[str, ...], columns: int) -> None:
    paragraphs = description(help_of(*command, columns=columns))
    assert len(paragraphs) >= 2  # the paragraph breaks are kept
    for paragraph in paragraphs:
        for line, following in itertools.pairwise(paragraph):
            # a line is broken only where the next word would not fit: no ragged short lines
            assert len(line) + 1 + len(following.split()[0]) > columns - 4, (line, following)


def test_the_top_level_help_lists_every_command_at_60_columns() -> None:
    text = help_of(columns=60)
    for name in ("compile", "exec", "run", "agent", "plugin", "cache"):
        assert f"│ {name} " in text


def test_prose_is_joined_and_paragraphs_kept() -> None:
    assert reflow("One line\nand the next.\n\nSecond\nparagraph.") == "One line and the next.\n\nSecond paragraph."


def test_examples_and_marked_paragraphs_keep_their_lines() -> None:
    text = "Start a project.\n\n$ wasmrun init zig hello\n$ wasmrun run hello\n\n\b\nA: one\nB: two"
    assert reflow(text) == "Start a project.\n\n$ wasmrun init zig hello\n$ wasmrun run hello\n\nA: one\nB: two"
    docstring = ("Example:\n\n    Run it\n    like this:\n\n"
                 "        wasmrun exec m.wasm\n        wasmrun inspect m.wasm\n    ")
    assert reflow(docstring) == "Example:\n\nRun it like this:\n\n    wasmrun exec m.wasm\n    wasmrun inspect m.wasm"


def test_a_docstring_indent_is_removed() -> None:
    assert reflow("First.\n\n    Second\n    line.\n    ") == "First.\n\nSecond line."


words = st.text(alphabet="abcxyz.,;-()", min_size=1, max_size=8).filter(lambda w: w not in ("-", "*"))
prose = st.lists(st.lists(words, min_size=1, max_size=12).map(" ".join), min_size=1, max_size=5).map("\n".join)


@given(st.lists(prose, min_size=1, max_size=4))
def test_reflow_keeps_every_word_and_every_paragraph(paragraphs: list[str]) -> None:
    text = "\n\n".join(paragraphs)
    out = reflow(text)
    assert out.split() == text.split()
    assert out.count("\n\n") == len(paragraphs) - 1 and "\n" not in out.replace("\n\n", "")
    assert reflow(out) == out
