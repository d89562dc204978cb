"""Helpers for the PostgreSQL row-browsing tests: a `PostgresRows` on a database, walks.

`BrowsableRows` adds the one method `RowBrowser` needs beyond the browsing protocol,
`schema()`, built from the row browser's own catalog reading, so these tests depend on
nothing but the browsing half of the backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from dbinspect import pg_driver
from dbinspect.backends.postgres_rows import PostgresRows
from dbinspect.browse.browser import RowBrowser
from dbinspect.browse.protocol import Relation, RowPager
from dbinspect.models import ColumnInfo, RowPage, RowQuery, Schema, SchemaObject, Value
from dbinspect.url import parse_url


class BrowsableRows(PostgresRows):
    """`PostgresRows` with a `schema()` of the default schema's relations."""

    async def schema(self) -> Schema:
        cursor = await self.conn.execute(
            "SELECT c.relname::text FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1"
        )
        objects = []
        for (name,) in await cursor.fetchall():
            source = await self.source(Relation(None, name))
            kind = "table" if source.relkind in ("r", "p") else "view"
            keys = source.keys
            columns = tuple(
                ColumnInfo(c.name, c.type, False, None, keys.index(c.name) + 1, 0)
                if c.name in keys
                else ColumnInfo(c.name, c.type, False, None, 0, 0)
                for c in source.columns
            )
            objects.append(SchemaObject(kind, name, name, None, columns=columns))  # type: ignore[arg-type]
        return Schema(tuple(objects))


STATEMENTS: list[str] = []
"""What connections opened with `record=True` ran, in order."""


class RecordingCursor(pg_driver.psycopg.AsyncCursor[tuple[Any, ...]]):
    """A cursor that notes each statement it runs in `STATEMENTS`."""

    async def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
        text = query if isinstance(query, str) else query.as_string(self.connection)
        STATEMENTS.append(text)
        return await super().execute(query, params, **options)


@asynccontextmanager
async def open_rows(url: str, *, record: bool = False) -> AsyncIterator[BrowsableRows]:
    """Rows of the database at `url`, on an inspection connection as the app opens one.

    With `record`, the statements it runs are noted in `STATEMENTS`.
    """
    parsed = parse_url(url)
    conn = await pg_driver.connect_async(parsed)
    if record:
        conn.cursor_factory = RecordingCursor
    try:
        yield BrowsableRows(conn, parsed)
    finally:
        await conn.close()


def browser_on(pager: RowPager) -> RowBrowser:
    async def get() -> RowPager:
        return pager

    return RowBrowser(get)


async def walk_forward(
    rows: PostgresRows, relation: Relation, query: RowQuery | None = None, limit: int = 37
) -> list[tuple[tuple[Value, ...], tuple[Value, ...]]]:
    """Every `(key, row)` from the first row on, a page after the last row at a time."""
    query = query or RowQuery()
    found: list[tuple[tuple[Value, ...], tuple[Value, ...]]] = []
    page = await rows.fetch_page(relation, query, limit=limit)
    while True:
        found += list(zip(page.keys, page.rows, strict=True))
        if len(page.rows) < limit:
            return found
        page = await rows.fetch_page(relation, query, after=page.keys[-1], limit=limit)


async def walk_backward(
    rows: PostgresRows, relation: Relation, query: RowQuery | None = None, limit: int = 37
) -> list[tuple[tuple[Value, ...], tuple[Value, ...]]]:
    """Every `(key, row)` from the last row back, in browsing order."""
    query = query or RowQuery()
    found: list[tuple[tuple[Value, ...], tuple[Value, ...]]] = []
    page = await rows.fetch_page(relation, query, before=(), limit=limit)
    while True:
        found = list(zip(page.keys, page.rows, strict=True)) + found
        if len(page.rows) < limit:
            return found
        page = await rows.fetch_page(relation, query, before=page.keys[0], limit=limit)


def column(page: RowPage, name: str) -> list[Value]:
    """One column of a page."""
    index = page.columns.index(name)
    return [row[index] for row in page.rows]


def firsts(found: Sequence[tuple[tuple[Value, ...], tuple[Value, ...]]]) -> list[Any]:
    """The first cell of every row walked."""
    return [row[0] for _, row in found]
