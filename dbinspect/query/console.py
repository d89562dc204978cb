"""What the query console asks of a backend: run a statement, page its rows, end it.

A statement's rows are never all in memory. A `ResultCursor` reads them a page at a
time, forward, from the database's own cursor; a page elsewhere (a jump, End, scrolling
back) is read by running the statement again from that row on (SQLite: `LIMIT/OFFSET`
over it; PostgreSQL: a scrollable server-side cursor moved there), so the console holds
only the window of rows the grid shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from dbinspect.browse.protocol import SplitRead
from dbinspect.errors import QueryError
from dbinspect.models import Value
from dbinspect.query.statements import Dialect
from dbinspect.url import DatabaseUrl

if TYPE_CHECKING:
    from dbinspect.extensions import Extension

Row = tuple[Value, ...]


class ResultCursor(Protocol):
    """The rows of one statement, read a page at a time."""

    columns: tuple[str, ...]
    non_text: frozenset[int]
    """The columns (by index) whose type is not a string type: an empty value there is a
    type's empty text (a `void` result, an empty `tsvector`), not an empty string, and a
    table shows it as psql does, as nothing (see `query.script.table_cell`)."""
    rewinds: Literal["rerun", "scroll"]
    """How a page before the cursor's place is read: the statement is run again from
    that row (`rerun`, SQLite), or a scrollable cursor moves back (`scroll`, PostgreSQL)."""

    async def rows(self, offset: int, limit: int) -> list[Row]:
        """Up to `limit` rows from row `offset` (from 0) on."""
        ...

    async def count(self) -> int:
        """How many rows the statement returns (counted by the database)."""
        ...

    def stream(self, batch_rows: int) -> AsyncIterator[list[Row]]:
        """Every row from the first, `batch_rows` at a time, in one pass (an export)."""
        ...

    async def close(self) -> None:
        """Release the database's cursor."""
        ...


@runtime_checkable
class SplittableResult(Protocol):
    """A result that worker processes can read in parts (a large export)."""

    async def split_read(self) -> SplitRead | None:
        """How to read the result in parts; None where that cannot be done."""
        ...


BATCH_BYTES = 8 * 1024 * 1024
"""About how many bytes of values a batch of a result's rows holds at most: rows of
megabytes each are read a few at a time, never a fixed thousand."""


def batch_for(rows: Sequence[Row], most: int) -> int:
    """How many rows the next read asks for, after one that gave `rows`: as many as fit
    in `BATCH_BYTES` at their size, from 1 to `most`."""
    if not rows:
        return most
    size = sum(len(v) for row in rows for v in row if isinstance(v, str | bytes))
    per_row = max(1, size // len(rows))
    return max(1, min(most, BATCH_BYTES // per_row))


ROWS_KEPT = 10_000
"""Rows kept in memory from a statement that cannot be paged (a write's RETURNING, a
PostgreSQL SHOW or EXPLAIN): the statement itself is not limited, only what is shown."""


class KeptRows:
    """A few rows held in memory: what a statement without a database cursor returned."""

    rewinds: Literal["rerun", "scroll"] = "scroll"

    def __init__(
        self, columns: tuple[str, ...], rows: list[Row], non_text: frozenset[int] = frozenset()
    ) -> None:
        self.columns = columns
        self.non_text = non_text
        self._rows = rows

    async def rows(self, offset: int, limit: int) -> list[Row]:
        return self._rows[offset : offset + limit]

    async def count(self) -> int:
        return len(self._rows)

    async def stream(self, batch_rows: int) -> AsyncIterator[list[Row]]:
        for start in range(0, len(self._rows), batch_rows):
            yield self._rows[start : start + batch_rows]

    async def close(self) -> None:
        self._rows = []


@dataclass(frozen=True, slots=True)
class PlanNode:
    """One step of a query plan, as the database describes it."""

    label: str
    children: tuple[PlanNode, ...] = ()


@dataclass(slots=True)
class Outcome:
    """What running one statement did."""

    cursor: ResultCursor | None = None
    """The rows, for a statement that returns rows."""
    changed: int | None = None
    """Rows inserted, updated or deleted, where the database says."""
    pending: bool = False
    """A write mode transaction is open: commit or roll back next."""
    notes: list[str] = field(default_factory=list)


class ConsoleSession(Protocol):
    """One console connection: read-only unless a statement is run with `write=True`."""

    dialect: Dialect
    can_write: bool
    """False when the database was opened read-only (or is a read-only file)."""

    @property
    def lost(self) -> bool:
        """The connection is gone (the server restarted or ended it): open a new session."""
        ...

    async def run(self, sql: str, *, write: bool = False) -> Outcome:
        """Run one statement. In write mode it runs in a transaction left open when it
        changed anything (`Outcome.pending`): `commit` or `rollback` next.

        Raises:
            StatementError: The database refused it (position where it says).
        """
        ...

    @property
    def in_transaction(self) -> bool:
        """A write mode transaction awaits its commit or rollback."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def explain(self, sql: str) -> PlanNode:
        """The statement's plan as a tree, without running it."""
        ...

    async def interrupt(self) -> None:
        """Stop the statement running now: an interrupt (SQLite), a cancel (PostgreSQL)."""
        ...

    async def release(self, why: str, *, idle_for: float = 0.0) -> bool:
        """Let go of what the shown result holds on the database (its read transaction,
        and with it the locks of the tables it reads), if no row of it was read for
        `idle_for` seconds; a write awaiting its commit is left alone. Whether it did.

        On SQLite the result reads on as before (a page runs the statement again); on
        PostgreSQL a row not yet read is refused, saying `why` (`after 30 s without
        reading`): run the statement again.
        """
        ...

    async def aclose(self) -> None:
        """Roll back anything open and close the connection."""
        ...


class StatementError(QueryError):
    """The database refused a statement; `position` is where it says, in the statement."""

    def __init__(self, message: str, sql: str, position: int | None = None) -> None:
        super().__init__(message, sql)
        self.position = position
        """Offset into `sql` of the error, or of the token it names; None if unknown."""


async def open_console(
    url: DatabaseUrl, *, read_only: bool, extensions: tuple[Extension, ...] = ()
) -> ConsoleSession:
    """A console session on `url`.

    Raises:
        ConnectError: The database cannot be opened.
    """
    if url.backend == "postgres":
        from dbinspect.backends.postgres_console import PostgresConsole

        return await PostgresConsole.open(url, read_only=read_only)
    from dbinspect.backends.sqlite_console import SqliteConsole

    return await SqliteConsole.open(url, read_only=read_only, extensions=extensions)
