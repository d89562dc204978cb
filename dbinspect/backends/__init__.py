"""Provides `open_backend(url)`: the async, read-only data layer for each database kind."""

from __future__ import annotations

from dbinspect.backends.base import Backend
from dbinspect.backends.sqlite import SqliteBackend, quote_identifier
from dbinspect.errors import UnsupportedBackendError
from dbinspect.url import DatabaseUrl

__all__ = ["Backend", "SqliteBackend", "open_backend", "quote_identifier"]


async def open_backend(
    url: DatabaseUrl, *, busy_timeout: float = 5.0, probe: bool = True
) -> Backend:
    """Open an inspection session on `url` (see `SqliteBackend.open` for `probe`).

    Raises:
        ConnectError: The database cannot be opened.
        UnsupportedBackendError: The URL is not a SQLite one (PostgreSQL is not built yet).
    """
    if url.backend != "sqlite":
        raise UnsupportedBackendError(url.backend)
    return await SqliteBackend.open(url, busy_timeout=busy_timeout, probe=probe)
