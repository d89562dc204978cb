"""Notices writes by other processes: `data_version`/`schema_version` and the files' stat."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

from dbinspect.backends import Backend, open_backend
from dbinspect.errors import DbInspectError
from dbinspect.url import DatabaseUrl

POLL_SECONDS = 1.0
FileSignature = tuple[int, int, int, int]


def file_signature(path: Path | None) -> FileSignature:
    """Size and modification time of the file and its `-wal`: they move when others write."""
    if path is None:
        return (0, 0, 0, 0)
    parts: list[int] = []
    for candidate in (path, Path(f"{path}-wal")):
        try:
            info = os.stat(candidate)
        except OSError:
            parts += [-1, -1]
        else:
            parts += [info.st_size, info.st_mtime_ns]
    return (parts[0], parts[1], parts[2], parts[3])


async def watch_database(
    url: DatabaseUrl, changed: Callable[[], None], poll: float = POLL_SECONDS
) -> None:
    """Call `changed()` whenever another connection commits; runs until cancelled.

    Polls on a connection of its own, so a slow query elsewhere never delays it.
    """
    watcher: Backend | None = None
    marker: tuple[int, int] | None = None
    signature = await asyncio.to_thread(file_signature, url.path)
    try:
        while True:
            await asyncio.sleep(poll)
            moved = False
            now = await asyncio.to_thread(file_signature, url.path)
            if now != signature:
                # An immutable or copied snapshot never sees new data: reopen it.
                signature, moved = now, True
                if watcher is not None:
                    await watcher.aclose()
                    watcher = None
            try:
                if watcher is None:
                    watcher = await open_backend(url)
                    marker = None
                current = await watcher.change_marker()
            except DbInspectError:
                continue  # locked or mid-rewrite: look again at the next tick
            if marker is not None and current != marker:
                moved = True
            marker = current
            if moved:
                changed()
    finally:
        if watcher is not None:
            await asyncio.shield(watcher.aclose())
