"""Provides the Backend protocol that the CLI, operations and the app talk to."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import ClassVar, Protocol

from dbinspect.models import (
    CellValue,
    DatabaseFacts,
    RowCount,
    RowPage,
    RowQuery,
    Schema,
    Value,
)
from dbinspect.url import DatabaseUrl


class Backend(Protocol):
    """An open, read-only inspection session on one database."""

    supports_interrupt: ClassVar[bool]
    url: DatabaseUrl

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

    async def row_estimate(self, table: str) -> RowCount:
        """A cheap count: exact when cheap, else an estimate marked `exact=False`."""
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

    async def fetch_page(
        self,
        table: str,
        query: RowQuery,
        *,
        after: Sequence[Value] | None = None,
        before: Sequence[Value] | None = None,
        at: Sequence[Value] | None = None,
        offset: int | None = None,
        limit: int = 100,
        cell_limit: int | None = None,
    ) -> RowPage:
        """Rows filtered and sorted by `query`, paged on `(sort value, key)` positions.

        `after`/`before` are exclusive, `at` inclusive, `offset` scans; `before=()`
        gives the last rows. Text and BLOB cells longer than `cell_limit` are cut.
        """
        ...

    def count_stepwise(self, table: str, query: RowQuery) -> AsyncIterator[tuple[int, float]]:
        """Count the rows `query` selects in steps: `(rows so far, fraction done)`."""
        ...

    async def rowid_bounds(self, table: str) -> tuple[int, int] | None:
        """The lowest and highest rowid of a rowid table, None when it is empty."""
        ...

    async def rows_before(self, table: str, query: RowQuery, position: Sequence[Value]) -> int:
        """How many rows precede `position` in browsing order."""
        ...

    async def find_key(self, table: str, match: dict[str, Value]) -> tuple[Value, ...] | None:
        """The paging key of the first row whose columns equal `match`."""
        ...

    async def fetch_cell(
        self, table: str, query: RowQuery, position: Sequence[Value], column: str, limit: int
    ) -> CellValue | None:
        """One cell of the row at `position`, cut to `limit` characters or bytes."""
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
