"""What the export tests share: the SQLite backend on each module's own `database` file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.url import parse_url


@pytest.fixture
async def backend(database: Path) -> AsyncIterator[SqliteBackend]:
    opened = await SqliteBackend.open(parse_url(str(database)))
    try:
        yield opened
    finally:
        await opened.aclose()
