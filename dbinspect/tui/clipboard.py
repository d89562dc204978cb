"""Copies text where the user can paste it, and says where that was.

Textual copies through the terminal (OSC 52), which many terminals and tmux's default
`set-clipboard external` silently drop: saying "Copied" then is a lie. So a system
clipboard tool is used when one is there, then tmux's own buffer, and OSC 52 only as the
last resort, named as such. Hand-written because no maintained library covers
the Wayland, X11, macOS and tmux cases together without a GUI toolkit.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence

TOOL_TIMEOUT_S = 2.0


def _candidates() -> list[tuple[str, Sequence[str]]]:
    """(where, command) pairs to try, most direct first, for this session."""
    found: list[tuple[str, Sequence[str]]] = []
    if os.environ.get("WAYLAND_DISPLAY"):
        found.append(("the clipboard (wl-copy)", ["wl-copy"]))
    if os.environ.get("DISPLAY"):
        found.append(("the clipboard (xclip)", ["xclip", "-selection", "clipboard"]))
        found.append(("the clipboard (xsel)", ["xsel", "--clipboard", "--input"]))
    if sys.platform == "darwin":
        found.append(("the clipboard (pbcopy)", ["pbcopy"]))
    if os.environ.get("TMUX"):
        # -w also hands it to the outer terminal's clipboard when tmux allows that.
        found.append(("tmux's paste buffer (prefix ])", ["tmux", "load-buffer", "-w", "-"]))
    return [(where, command) for where, command in found if shutil.which(command[0])]


def copy_with_tool(text: str) -> str | None:
    """Copy `text` with the first clipboard tool that takes it; where it went, or None."""
    data = text.encode("utf-8", "surrogateescape")
    for where, command in _candidates():
        try:
            done = subprocess.run(
                command, input=data, capture_output=True, timeout=TOOL_TIMEOUT_S, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return where
    return None


async def copy_text(text: str, terminal_copy: Callable[[str], None]) -> str:
    """Copy `text`; returns where it went, for the message that says so.

    Args:
        text: What to copy.
        terminal_copy: The terminal's own copy (Textual's `copy_to_clipboard`), used
            when no tool took the text.
    """
    where = await asyncio.to_thread(copy_with_tool, text)
    if where is not None:
        return where
    terminal_copy(text)
    return "the terminal (OSC 52: it reaches the clipboard only if the terminal allows it)"
