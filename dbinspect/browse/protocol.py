"""What a row browser asks of a backend: pages by key, an approximate position, counts.

The protocol speaks of relations qualified by schema, paging keys, pages after or before
a key, a position "about here", and a change token. It knows no rowid, no SQLite pragma
and no SQL: each backend turns a `RowQuery` (its filter and sort are data) into its own.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from dbinspect.models import CellValue, RowCount, RowPage, RowQuery, Schema, SqlDialect, Value


class Relation(NamedTuple):
    """A table or view, qualified by its schema (None: the backend's default schema)."""

    schema: str | None
    name: str

    def __str__(self) -> str:
        return self.name if self.schema is None else f"{self.schema}.{self.name}"


class RowBatch(NamedTuple):
    """Consecutive rows of a relation in browsing order, with its column names."""

    columns: tuple[str, ...]
    rows: Sequence[tuple[Value, ...]]


class RowPager(Protocol):
    """The browsing half of a backend."""

    sql_dialect: SqlDialect
    """Whose SQL an export of these rows writes (`sqlite` or `postgres`)."""

    async def schema(self) -> Schema:
        """Every object with its columns (to know a relation's columns and keys)."""
        ...

    async def row_estimate(self, relation: Relation) -> RowCount:
        """A cheap row count of the unfiltered relation: exact when cheap."""
        ...

    async def fetch_page(
        self,
        relation: Relation,
        query: RowQuery,
        *,
        after: Sequence[Value] | None = None,
        before: Sequence[Value] | None = None,
        at: Sequence[Value] | None = None,
        offset: int | None = None,
        limit: int = 100,
        cell_limit: int | None = None,
    ) -> RowPage:
        """Rows in browsing order: after or before a position (`before=()`: the last
        rows), from a position on (`at`), or from an offset."""
        ...

    async def page_near(
        self,
        relation: Relation,
        query: RowQuery,
        position: int,
        total: int,
        *,
        limit: int,
        cell_limit: int | None = None,
    ) -> tuple[RowPage, int]:
        """Rows from about `position` of `total` on, and the position of the first one.

        Fast on any size of relation where the backend can estimate (SQLite: rowid
        interpolation); else an offset scan.
        """
        ...

    async def position_of(
        self, relation: Relation, query: RowQuery, key: Sequence[Value], total: int
    ) -> int:
        """About how many rows precede the row at `key` in browsing order."""
        ...

    def count_stepwise(
        self, relation: Relation, query: RowQuery
    ) -> AsyncIterator[tuple[int, float]]:
        """Count the rows `query` selects in steps: `(rows so far, fraction done)`."""
        ...

    async def find_key(
        self, relation: Relation, match: dict[str, Value]
    ) -> tuple[Value, ...] | None:
        """The paging key of the first row whose columns equal `match`."""
        ...

    async def fetch_cell(
        self,
        relation: Relation,
        query: RowQuery,
        position: Sequence[Value],
        column: str,
        limit: int,
    ) -> CellValue | None:
        """One cell of the row at `position`, cut to `limit` characters or bytes."""
        ...

    async def change_token(self) -> Hashable:
        """A value that differs whenever another connection has written since."""
        ...

    async def interrupt(self) -> None:
        """Abort the statement now running, if any."""
        ...


@runtime_checkable
class RowStreamer(Protocol):
    """A backend that reads every row of a query in one pass (an export's fast path).

    Optional: a reader of all the rows (the exporter) uses it when the backend has it,
    else it pages by key through `RowPager.fetch_page`.
    """

    def stream_rows(
        self, relation: Relation, query: RowQuery, *, batch_rows: int
    ) -> AsyncGenerator[RowBatch, None]:
        """Every row `query` selects, in browsing order, `batch_rows` at a time.

        The first batch always comes, empty for an empty result, so the columns are
        known. Closing the iterator early (a cancel) ends the read at once.
        """
        ...


@dataclass(frozen=True)
class SplitRead:
    """How worker processes read one query's rows in parts, each part from its own row.

    `worker` is a module run as `python -m <worker>`; it is sent `job` plus its part
    (`offset`, `limit`, `fmt`, ...; see `export.split`). Every part runs the same
    statement, so all read the rows in one order; `unchanged` says whether anything was
    committed since the plan was made, so that the parts, begun one after another, are
    known to have read one snapshot.
    """

    worker: str
    job: dict[str, Any]
    rows: int
    """The rows the statement returned when counted (how the parts are sized)."""
    columns: tuple[str, ...]
    unchanged: Callable[[], Awaitable[bool]]
    close: Callable[[], Awaitable[None]]


@runtime_checkable
class RowSplitter(Protocol):
    """A backend whose rows can be read in parts by other processes (a large export)."""

    async def split_read(self, relation: Relation, query: RowQuery) -> SplitRead | None:
        """How to read what `query` selects in parts; None where that cannot be done."""
        ...
