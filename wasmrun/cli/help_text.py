"""Commands' help reflowed to the terminal: typer's rich help keeps every line break of a
docstring (only the first paragraph is joined), so prose wrapped at 100 columns in the source came
out ragged in a 60- or 120-column terminal. Each paragraph of prose becomes one line that rich
wraps to the width; paragraph breaks stay, and so do the lines of an example (an indented line, a
``$ `` prompt, a ``wasmrun ...`` command line, a list item) or of a paragraph marked with click's
``\\b``.
"""

from __future__ import annotations

import inspect

TYPE_CHECKING = False
if TYPE_CHECKING:
    import typer

#: Lines that are not prose: they keep their own line.
_VERBATIM_STARTS = ("$ ", "wasmrun ", "- ", "* ", "> ")


def reflow(text: str) -> str:
    """``text`` (a docstring) with each prose paragraph on one line; blank lines between
    paragraphs, examples and ``\\b`` paragraphs (the marker dropped) as they were."""
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines = paragraph.strip("\n").split("\n")
        if lines and lines[0].strip() == "\b":
            paragraphs.append("\n".join(lines[1:]))
        elif any(line.startswith((" ", "\t", *_VERBATIM_STARTS)) for line in lines):
            paragraphs.append("\n".join(lines))
        else:
            paragraphs.append(" ".join(line.strip() for line in lines if line.strip()))
    return "\n\n".join(p for p in paragraphs if p)


def reflow_commands(app: typer.Typer) -> None:
    """Give every command and group of ``app`` (sub-apps too) its help reflowed, from its
    ``help=`` or its callback's docstring."""
    info = app.info
    if isinstance(info.help, str):
        info.help = reflow(info.help)
    for command in app.registered_commands:
        text = command.help if isinstance(command.help, str) else inspect.getdoc(command.callback)
        if text:
            command.help = reflow(text)
    if app.registered_callback is not None:
        callback = app.registered_callback
        text = callback.help if isinstance(callback.help, str) else inspect.getdoc(callback.callback)
        if text:
            callback.help = reflow(text)
    for group in app.registered_groups:
        if isinstance(group.help, str):
            group.help = reflow(group.help)
        if group.typer_instance is not None:
            reflow_commands(group.typer_instance)
