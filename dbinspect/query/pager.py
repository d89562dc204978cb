"""`ResultPager`: a statement's rows served to the Data pane's row browser.

The row browser pages relations; a result is paged like a view, by position: the key of
each row is its number in the result. So the Data pane's grid, its cell detail, copy and
JSON view, and the exporter work on a result unchanged, and nothing holds more than the
browser's window of rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Hashable, Sequence

from dbinspect.browse.offsets import offset_window
from dbinspect.browse.protocol import Relation, RowBatch, SplitRead
from dbinspect.models import (
    CellValue,
    ColumnInfo,
    RowCount,
    RowPage,
    RowQuery,
    Schema,
    SchemaObject,
    SqlDialect,
    Value,
)
from dbinspect.query.console import ConsoleSession, ResultCursor, Row, SplittableResult

RESULT = Relation(None, "result")
"""The name a result is browsed under."""


def unique_names(columns: Sequence[str]) -> tuple[str, ...]:
    """Column names made unique (`a`, `a:1`), as SQLite names a subquery's duplicates."""
    seen: dict[str, int] = {}
    names = []
    for name in columns:
        if name in seen:
            seen[name] += 1
            candidate = f"{name}:{seen[name]}"
            while candidate in seen:
                seen[name] += 1
                candidate = f"{name}:{seen[name]}"
            name = candidate
        seen.setdefault(name, 0)
        names.append(name)
    return tuple(names)


def _type_of(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool | int):
        return "integer"
    if isinstance(value, float):
        return "real"
    return "blob" if isinstance(value, bytes) else "text"


def _cut(value: Value, limit: int | None) -> tuple[Value, int | None]:
    """The value cut to `limit` characters (or bytes), and its full length if it was cut."""
    if limit is not None and isinstance(value, str | bytes) and len(value) > limit:
        return value[:limit], len(value)
    return value, None


class ResultPager:
    """One statement's rows as a `RowPager` (and `RowStreamer`) for the row browser."""

    def __init__(self, session: ConsoleSession, cursor: ResultCursor) -> None:
        self.sql_dialect: SqlDialect = session.dialect
        self.session = session
        self.cursor = cursor
        self.columns = unique_names(cursor.columns)
        self._count: int | None = None
        self._schema = Schema(
            (
                SchemaObject(
                    kind="view",
                    name=RESULT.name,
                    table=RESULT.name,
                    sql=None,
                    columns=tuple(ColumnInfo(c, "", False, None, 0, 0) for c in self.columns),
                ),
            )
        )

    async def schema(self) -> Schema:
        return self._schema

    async def count(self) -> int:
        """The number of rows, counted once."""
        if self._count is None:
            self._count = await self.cursor.count()
        return self._count

    async def row_estimate(self, relation: Relation) -> RowCount:
        return RowCount(await self.count(), True)

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
        start, wanted = await offset_window(after, before, at, offset, limit, self.count)
        rows = await self.cursor.rows(start, wanted) if wanted > 0 else []
        return self._page(start, rows, cell_limit)

    def _page(self, start: int, rows: list[Row], cell_limit: int | None) -> RowPage:
        cut_rows = []
        truncated = []
        for row in rows:
            cells = []
            cut: list[tuple[int, int]] = []
            for index, value in enumerate(row):
                shown, full = _cut(value, cell_limit)
                cells.append(shown)
                if full is not None:
                    cut.append((index, full))
            cut_rows.append(tuple(cells))
            truncated.append(tuple(cut))
        return RowPage(
            columns=self.columns,
            rows=tuple(cut_rows),
            keys=tuple((start + i,) for i in range(len(rows))),
            key_columns=("offset",),
            truncated=tuple(truncated) if any(truncated) else (),
        )

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
        position = max(0, min(position, max(0, total - 1)))
        page = await self.fetch_page(
            relation, query, offset=position, limit=limit, cell_limit=cell_limit
        )
        return page, position

    async def position_of(
        self, relation: Relation, query: RowQuery, key: Sequence[Value], total: int
    ) -> int:
        return int(key[-1] or 0)

    async def count_stepwise(
        self, relation: Relation, query: RowQuery
    ) -> AsyncIterator[tuple[int, float]]:
        yield await self.count(), 1.0

    async def find_key(
        self, relation: Relation, match: dict[str, Value]
    ) -> tuple[Value, ...] | None:
        return None  # a result has no keys to follow

    async def fetch_cell(
        self,
        relation: Relation,
        query: RowQuery,
        position: Sequence[Value],
        column: str,
        limit: int,
    ) -> CellValue | None:
        rows = await self.cursor.rows(int(position[-1] or 0), 1)
        if not rows or column not in self.columns:
            return None
        value = rows[0][self.columns.index(column)]
        shown, full = _cut(value, limit)
        size = full if full is not None else len(value) if isinstance(value, str | bytes) else 0
        return CellValue(shown, size, _type_of(value))

    async def change_token(self) -> Hashable:
        return 0  # a result shows the rows as they were when it ran

    async def interrupt(self) -> None:
        await self.session.interrupt()

    async def split_read(self, relation: Relation, query: RowQuery) -> SplitRead | None:
        if not isinstance(self.cursor, SplittableResult):
            return None
        read = await self.cursor.split_read()
        return None if read is None else dataclasses.replace(read, columns=self.columns)

    async def stream_rows(
        self, relation: Relation, query: RowQuery, *, batch_rows: int
    ) -> AsyncGenerator[RowBatch, None]:
        sent = False
        async for rows in self.cursor.stream(batch_rows):
            sent = True
            yield RowBatch(self.columns, rows)
        if not sent:
            yield RowBatch(self.columns, [])
