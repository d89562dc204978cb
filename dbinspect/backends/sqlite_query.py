"""Runs one query to completion on aiosqlite's thread, even if the awaiting task is cancelled.

`async with conn.execute(...)` leaves the statement active when the task is cancelled
between the execute and the close. SQLite keeps an interrupt pending for as long as any
statement is active, so after one such leak every later query on the connection fails
with "interrupted". `execute_fetchall` runs execute, fetch and reset as one call on the
thread, so no statement outlives its query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbinspect.sqlite_driver import AsyncConnection


async def fetch_all(conn: AsyncConnection, sql: str, params: Iterable[Any] = ()) -> list[Any]:
    """Every row of `sql`."""
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def fetch_value(conn: AsyncConnection, sql: str, params: Iterable[Any] = ()) -> Any:
    """The first column of the first row of `sql`, or None when it returns no row."""
    rows = await fetch_all(conn, sql, params)
    return rows[0][0] if rows else None
