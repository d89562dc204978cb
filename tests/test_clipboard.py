"""Copying says where the text went: a clipboard tool, tmux's buffer, or the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbinspect.tui.clipboard import copy_text, copy_with_tool


@pytest.fixture
def tmux_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real tmux server on a private socket, as if dbinspect ran inside it."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    socket = tmp_path / "tmux.sock"
    subprocess.run(
        ["tmux", "-S", str(socket), "new-session", "-d", "-s", "t", "sleep 60"], check=True
    )
    try:
        pid = subprocess.run(
            ["tmux", "-S", str(socket), "display-message", "-p", "#{pid}"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        monkeypatch.setenv("TMUX", f"{socket},{pid},0")
        yield socket
    finally:
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], check=False)


def test_inside_tmux_the_text_lands_in_its_buffer(
    tmux_server: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    where = copy_with_tool("SELECT 'é'\tx")
    assert where is not None and "tmux" in where
    shown = subprocess.run(
        ["tmux", "-S", str(tmux_server), "show-buffer"], capture_output=True, check=True
    ).stdout
    assert shown.decode() == "SELECT 'é'\tx"


async def test_without_a_tool_the_terminal_copy_is_named_as_such(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("TMUX", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    copied: list[str] = []
    where = await copy_text("value", copied.append)
    if os.uname().sysname == "Darwin":
        pytest.skip("pbcopy is always there on macOS")
    assert copied == ["value"]
    assert "OSC 52" in where and "only if the terminal allows it" in where
