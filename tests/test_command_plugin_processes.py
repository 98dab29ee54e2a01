"""A command plugin's executable runs in a process group of its own: when it does not answer in
time, wasmrun ends it and every process it started, not only the one it ran."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from wasmrun.command_plugin import CommandPlugin
from wasmrun.config import CommandPluginConfig
from wasmrun.errors import PluginError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed, not yet reaped by its parent, which is gone too) counts as ended
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(os.name != "posix", reason="process groups are POSIX")
def test_a_plugin_that_does_not_answer_is_ended_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    exe = tmp_path / "slow-plugin"
    exe.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {pid_file}\nwait\n")
    exe.chmod(0o755)
    plugin = CommandPlugin("slow", CommandPluginConfig(command=str(exe), subcommands=["can-handle"]))
    with pytest.raises(PluginError, match=r"did not answer within 0\.5 s"):
        plugin._run(["can-handle"], timeout=0.5)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the plugin's own child outlived it"
