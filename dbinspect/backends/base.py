"""Provides the Backend protocol that the CLI, operations and the app talk to."""

from __future__ import annotations

from typing import ClassVar, Protocol

from dbinspect.browse.protocol import RowPager
from dbinspect.models import (
    DatabaseFacts,
    RowCount,
    RowPage,
    Schema,
    Value,
)
from dbinspect.url import DatabaseUrl


class Backend(RowPager, Protocol):
    """An open, read-only inspection session on one database.

    Its browsing half is `RowPager`, which the row browser uses; the methods below
    that take a bare `table` name are the older SQLite-shaped ones the panes use.
    """

    supports_interrupt: ClassVar[bool]
    url: DatabaseUrl

    @property
    def lost(self) -> bool:
        """The server ended the connection: open a new one (a file's is never lost)."""
        ...

    async def facts(self) -> DatabaseFacts:
        """File and engine facts, with object counts."""
        ...

    async def schema(self) -> Schema:
        """Every object with its columns, keys, indexes and SQL."""
        ...

    async def outline(self) -> Schema:
        """Every object's kind, name, table and SQL, without column details (fast)."""
        ...

    async def quick_outline(self) -> Schema | None:
        """Kinds and names only, read before the engine has parsed the schema; or None.

        For a first frame on a very large schema; `outline()` and `schema()` follow.
        """
        ...

    async def row_count(self, table: str) -> RowCount:
        """The exact number of rows (may scan the table)."""
        ...

    async def fetch_rows(
        self,
        table: str,
        *,
        after: tuple[Value, ...] | None = None,
        before: tuple[Value, ...] | None = None,
        limit: int = 100,
    ) -> RowPage:
        """Rows in key order after `after`, or the last `limit` before `before`.

        With neither, the first rows; with `before=()` the last rows.
        """
        ...

    async def table_sizes(self) -> dict[str, int] | None:
        """Bytes on disk of each table with its indexes; None when the engine cannot tell."""
        ...

    async def change_marker(self) -> tuple[int, int]:
        """Numbers that change when another connection writes: data and schema version."""
        ...

    async def interrupt(self) -> None:
        """Abort the statement now running, if any."""
        ...

    async def aclose(self) -> None:
        """Close the connection without changing the database."""
        ...
