"""Reads other tools' histories for asyncio code (the app), on a worker thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dbinspect.migrate.foreign import ForeignHistory, read_histories
from dbinspect.url import DatabaseUrl


async def histories(
    url: DatabaseUrl, *, source: Path | None = None, cwd: Path | None = None
) -> list[ForeignHistory]:
    """See `read_histories`; the event loop stays free while the tables are read."""
    return await asyncio.to_thread(read_histories, url, source=source, cwd=cwd)
