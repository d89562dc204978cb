"""Provides the Backend protocol that the CLI, operations and the app talk to."""

from __future__ import annotations

from typing import ClassVar, Protocol

from dbinspect.models import DatabaseFacts, RowCount, RowPage, Schema, Value
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

    async def change_marker(self) -> tuple[int, int]:
        """Numbers that change when another connection writes: data and schema version."""
        ...

    async def interrupt(self) -> None:
        """Abort the statement now running, if any."""
        ...

    async def aclose(self) -> None:
        """Close the connection without changing the database."""
        ...
