"""Provides `open_backend(url)`: the async, read-only data layer for each database kind.

The package's names load on first use: the migration engine needs only the light
`sqlite_files` and `sqlite_names` modules, and importing the whole backend (its models
and row browsing) would add to every `migrate` command's start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbinspect.errors import UnsupportedBackendError
from dbinspect.lazy import lazy_attributes
from dbinspect.url import DatabaseUrl

if TYPE_CHECKING:
    from dbinspect.backends.base import Backend
    from dbinspect.backends.sqlite import SqliteBackend
    from dbinspect.backends.sqlite_names import quote_identifier
    from dbinspect.extensions import Extension

__all__ = ["Backend", "SqliteBackend", "open_backend", "quote_identifier"]

_LAZY = {
    "Backend": "dbinspect.backends.base",
    "SqliteBackend": "dbinspect.backends.sqlite",
    "quote_identifier": "dbinspect.backends.sqlite_names",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)


async def open_backend(
    url: DatabaseUrl,
    *,
    busy_timeout: float = 5.0,
    probe: bool = True,
    extensions: tuple[Extension, ...] = (),
) -> Backend:
    """Open an inspection session on `url` (see `SqliteBackend.open` for `probe`).

    PostgreSQL URLs open a `PostgresBackend` (`busy_timeout`, `probe` and `extensions`
    are SQLite's and do not apply).

    Raises:
        ConnectError: The database cannot be opened.
        UnsupportedBackendError: The URL is neither SQLite nor PostgreSQL.
    """
    if url.backend == "postgres":
        from dbinspect.backends.postgres import PostgresBackend

        return await PostgresBackend.open(url)
    if url.backend != "sqlite":
        raise UnsupportedBackendError(url.backend)
    from dbinspect.backends.sqlite import SqliteBackend

    return await SqliteBackend.open(
        url, busy_timeout=busy_timeout, probe=probe, extensions=extensions
    )
