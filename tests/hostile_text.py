"""Hostile names for the terminal-safety tests, and a way to see what a terminal would get."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from hypothesis import strategies as st

OSC52 = "\x1b]52;c;aGk=\x1b\\"
"""Writes "hi" to the clipboard (OSC 52, ended by ST)."""
OSC2 = "\x1b]2;pwned\x07"
"""Renames the terminal window (OSC 2, ended by BEL)."""
CLEAR = "\x1b[2J"
"""Blanks the screen (CSI 2 J)."""
C1_CSI = "\x9b31m"
"""CSI as the single C1 character U+009B: red text on terminals that honour C1."""
BIDI = "\u202eevil\u2066x\u2069\u200f\u061c\u200e"
"""A right-to-left override, an isolate, and the three marks."""
HOSTILE = f"a{OSC52}b{CLEAR}c{C1_CSI}d{BIDI}e{OSC2}f\x7fg"
"""All of the above in one name (no `/` or NUL, so it can name a file)."""

# Written out here rather than imported, so that a character the package forgets to
# escape is not forgotten by the test as well.
_RAW = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
DANGEROUS = [*"\x1b\x07\x7f\x9b\x9d\x85\u202e\u202a\u2066\u2069\u200e\u200f\u061c", "\x08", "\t"]
"""Characters the random names draw from besides ordinary text."""


def clean_env() -> dict[str, str]:
    """The environment without a database URL or dbinspect settings (but the SQLite choice)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and (k == "DBINSPECT_SQLITE" or not k.startswith("DBINSPECT_"))
    }


def raw_controls(output: str, allow: str = "") -> list[str]:
    """Every control, C1 or bidi character in `output` (line ends and `allow` aside)."""
    return [char for char in _RAW.findall(output) if char not in allow]


def names(max_size: int = 24) -> st.SearchStrategy[str]:
    """Random names that can name a file: any text, rich in control and bidi characters."""
    ordinary = st.characters(codec="utf-8", exclude_characters="/\x00")
    return st.text(st.sampled_from(DANGEROUS) | ordinary, min_size=1, max_size=max_size)


def write_migration(folder: Path, version: int, description: str, sql: str) -> Path:
    """`<version>_<description>x.sql` (the `x` keeps a random `.up`/`.down` ending inert)."""
    path = folder / f"{version}_{description}x.sql"
    path.write_bytes(sql.encode())
    return path


def quote(name: str) -> str:
    """`name` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def run_in_pty(
    args: Sequence[str | os.PathLike[str]], cwd: Path, timeout: float = 30
) -> tuple[int, str]:
    """Run `python -m dbinspect` with a pseudo-terminal as stdout and stderr.

    Returns the exit status and everything the terminal received.
    """
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "dbinspect", *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env=clean_env(),
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        status = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    return status, b"".join(chunks).decode("utf-8", "replace")


def dbinspect(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run `python -m dbinspect` with its output piped; bytes, as they were written."""
    return subprocess.run(
        [sys.executable, "-m", "dbinspect", *map(str, args)],
        capture_output=True,
        cwd=cwd,
        env=clean_env(),
        timeout=60,
        check=False,
    )


def text(result: subprocess.CompletedProcess[bytes]) -> str:
    """stdout and stderr, decoded strictly: an escaped line is plain UTF-8."""
    return result.stdout.decode() + result.stderr.decode()
