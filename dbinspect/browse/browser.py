"""`RowBrowser`: the rows of one relation under a filter and sort, in a bounded window.

It keeps the window of rows, the position, the query and the row count, and answers
"the page after this key", "the page before this key", "jump to about here", "count"
and "what changed". It draws nothing and writes no SQL: a widget draws from its window,
and a `RowPager` (a backend) reads the pages. Connections come from a getter, so the
owner of the app's connections can hand out a fresh one after the database is reopened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from dbinspect.browse.protocol import Relation, RowPager
from dbinspect.browse.window import CachedRow, FetchPlan, RowWindow, page_rows
from dbinspect.errors import DbInspectError
from dbinspect.models import CellValue, RowPage, RowQuery, Schema, SchemaObject, Value

CELL_LIMIT = 256
"""Characters (or bytes) of a cell fetched for the grid; the rest is only noted."""

PagerGetter = Callable[[], Awaitable[RowPager]]


@dataclass(frozen=True, slots=True)
class Opened:
    """What `RowBrowser.open` read: the first page, and where the window now starts."""

    page: RowPage
    """The rows at the target (or the first rows), which set the columns."""
    above: int
    """Rows of the window before the target row."""
    dropped: tuple[str, ...] = ()
    """Columns the query sorted or filtered by that the relation no longer has (dropped
    or renamed by another session): their sort and filters were left out."""


def _within(query: RowQuery, columns: set[str]) -> tuple[RowQuery, tuple[str, ...]]:
    """`query` without the sort and filters on columns not in `columns`, and those names."""
    gone = [f.column for f in query.filters if f.column not in columns]
    sort = query.sort_column
    if sort is not None and sort not in columns:
        gone.append(sort)
        query = replace(query, sort_column=None, descending=False)
    if gone:
        query = replace(query, filters=tuple(f for f in query.filters if f.column in columns))
    return query, tuple(dict.fromkeys(gone))


class RowBrowser:
    """Browse one relation page by page; memory is bounded by its `RowWindow`.

    Args:
        pager: Returns the connection to read on (asked again before every read).
        window: The window of rows a grid draws from.
    """

    def __init__(self, pager: PagerGetter, window: RowWindow | None = None) -> None:
        self._pager = pager
        self.window = window or RowWindow()
        self.relation: Relation | None = None
        self.query = RowQuery()
        self.object: SchemaObject | None = None
        self.total = 0
        self.exact = False

    async def pager(self) -> RowPager:
        """The connection reads go to now."""
        return await self._pager()

    # Opening --------------------------------------------------------------------------

    async def open(
        self,
        relation: Relation,
        query: RowQuery,
        target: Sequence[Value] | None = None,
        *,
        at_position: int | None = None,
    ) -> Opened:
        """Show `relation` under `query`, on the row at `target` (or the first row).

        `at_position` keeps `target`'s row at that position instead of estimating one
        (when reading again after a write, the user's row stays where it was).

        Raises:
            DbInspectError: The relation does not exist or cannot be read; the window
                is then empty.
        """
        self.window.clear()
        pager = await self.pager()
        if relation != self.relation or self.object is None:
            self.object = find_relation(await pager.schema(), relation)
        if self.object is None:
            raise DbInspectError(f"no such table or view: {relation}")
        if self.object.schema is not None:
            # Found through `schema.name`, or `public`'s bare name: pages in its schema.
            relation = Relation(self.object.schema, self.object.name)
        query, dropped = _within(query, {c.name for c in self.object.columns})
        if dropped:
            target = None  # a key of the old order (its sort value first): from the top
        self.relation, self.query = relation, query
        self.window.fit(len(self.object.columns))
        page_size = self.window.page_rows
        if not query.filters and self.object.kind in ("table", "partitioned table"):
            estimate = await pager.row_estimate(relation)
            self.total, self.exact = estimate.value, estimate.exact
        else:
            # A view or a filter may take a scan to count: `count` runs in the background.
            self.total, self.exact = page_size, False
        if target is None:
            page = await pager.fetch_page(relation, query, limit=page_size, cell_limit=CELL_LIMIT)
            rows = page_rows(page)
            self.window.reset(0, rows, at_start=True, at_end=len(page.rows) < page_size)
            return Opened(page, 0, dropped)
        if at_position is None:
            position = await pager.position_of(relation, query, target, self.total)
        else:
            position = at_position
        page = await pager.fetch_page(
            relation, query, at=target, limit=page_size, cell_limit=CELL_LIMIT
        )
        before = await pager.fetch_page(
            relation, query, before=target, limit=page_size // 2, cell_limit=CELL_LIMIT
        )
        above = page_rows(before)
        self.window.reset(
            position - len(above),
            above + page_rows(page),
            at_start=len(above) < page_size // 2,
            at_end=len(page.rows) < page_size,
        )
        return Opened(page, len(above), dropped)

    def forget(self) -> None:
        """Drop the relation and its rows (the database was closed or replaced)."""
        self.window.clear()
        self.relation, self.object = None, None

    # Paging ---------------------------------------------------------------------------

    async def read(self, plan: FetchPlan) -> tuple[RowPage, int]:
        """The rows `plan` asks for, and the position of the first one."""
        relation, query, window = self.relation, self.query, self.window
        if relation is None:
            raise DbInspectError("no table selected")
        pager = await self.pager()
        if plan.kind == "after" and window.rows:
            page = await pager.fetch_page(
                relation, query, after=window.rows[-1].key, limit=plan.limit,
                cell_limit=CELL_LIMIT,
            )  # fmt: skip
            return page, window.end
        if plan.kind == "before" and window.rows:
            page = await pager.fetch_page(
                relation, query, before=window.rows[0].key, limit=plan.limit,
                cell_limit=CELL_LIMIT,
            )  # fmt: skip
            return page, window.start
        if plan.kind == "last":
            page = await pager.fetch_page(
                relation, query, before=(), limit=plan.limit, cell_limit=CELL_LIMIT
            )
            if not self.exact and page.key_columns == ("offset",) and page.keys:
                # A page keyed by position (a view's, a result's) was read from the
                # counted end: its last key is the last position, whatever the estimate.
                self.total, self.exact = int(page.keys[-1][-1] or 0) + 1, True
            return page, self.total - len(page.rows)
        if plan.kind == "seek":
            return await pager.page_near(
                relation, query, plan.position, self.total, limit=plan.limit,
                cell_limit=CELL_LIMIT,
            )  # fmt: skip
        page = await pager.fetch_page(relation, query, limit=plan.limit, cell_limit=CELL_LIMIT)
        return page, 0

    def apply(self, plan: FetchPlan, page: RowPage, start: int, viewport: tuple[int, int]) -> None:
        """Put rows `read` returned into the window, keeping the viewport's rows."""
        rows = page_rows(page)
        short = len(rows) < plan.limit
        first, last = viewport
        window = self.window
        if plan.kind == "after":
            window.append(rows, at_end=short, keep=first)
        elif plan.kind == "before":
            window.prepend(rows, at_start=short, keep=last)
        elif plan.kind == "first":
            window.reset(0, rows, at_start=True, at_end=short)
        elif plan.kind == "last":
            window.reset(start, rows, at_start=short, at_end=True)
        else:
            window.reset(start, rows, at_start=start == 0, at_end=short)

    def settle(self) -> int:
        """Fix positions once the window touches an end; returns how far rows moved."""
        shift, self.total = self.window.settle(self.total, exact=self.exact)
        return shift

    # Counting -------------------------------------------------------------------------

    async def count(self) -> AsyncIterator[tuple[int, float]]:
        """Count the rows exactly, in steps `(so far, fraction)`; sets `total` at the end."""
        relation, query = self.relation, self.query
        if relation is None:
            return
        pager = await self.pager()
        counted = 0
        async for counted, fraction in pager.count_stepwise(relation, query):
            yield counted, fraction
        if relation == self.relation and query == self.query:
            self.total, self.exact = counted, True

    # Following other writers ----------------------------------------------------------

    async def reread(self, anchor: int) -> tuple[int, Opened]:
        """Read the window again after another process wrote, keeping the user's place.

        The rows from the one at position `anchor` on are read again from its key (so
        new, changed and deleted rows in view show), with the rows just before it; the
        object (its columns may have changed) and the row count are read again.

        Returns:
            The position of that row, which stays where it was (the rows around it may
            have come or gone), and what `open` read.

        Raises:
            DbInspectError: Nothing is browsed, or the relation can no longer be read.
        """
        relation, window = self.relation, self.window
        if relation is None:
            raise DbInspectError("no table selected")
        row = window.get(anchor)
        if row is None and window.rows:
            row, anchor = window.rows[0], window.start
        previous = self.total
        self.object = None
        if row is None:
            opened = await self.open(relation, self.query)
            anchor = 0
        else:
            opened = await self.open(relation, self.query, row.key, at_position=anchor)
            if opened.dropped:  # read from the top in the order left
                anchor = 0
        if not self.exact:
            # An estimate (a view, a filter, a big table's highest rowid) is worse than
            # the count already shown: keep that, marked to be counted again.
            self.total = max(previous, self.window.end)
        return anchor, opened

    async def rows_in_view_changed(self, first: int, last: int) -> bool:
        """Whether the rows at positions `[first, last)` read differently now.

        One page read from the first of them: for a backend whose change poll cannot
        tell this relation's writes from the rest of the server's. Rows appended after
        the last one count when the view reaches the end.
        """
        relation = self.relation
        held = [row for p in range(first, last) if (row := self.window.get(p)) is not None]
        if relation is None:
            return False
        if not held:
            # An empty (or unreadable) table is read again; rows still on their way to
            # the view (a jump) will be fresh when they come.
            return len(self.window) == 0
        pager = await self.pager()
        page = await pager.fetch_page(
            relation, self.query, at=held[0].key, limit=len(held) + 1, cell_limit=CELL_LIMIT
        )
        fresh = page_rows(page)
        if [(r.key, r.values) for r in fresh[: len(held)]] != [(r.key, r.values) for r in held]:
            return True
        return last >= self.total and len(fresh) > len(held)

    def position_of_key(self, key: Sequence[Value]) -> int | None:
        """Where the window holds the row at `key`, if it does."""
        wanted = tuple(key)
        for offset, row in enumerate(self.window.rows):
            if tuple(row.key) == wanted:
                return self.window.start + offset
        return None

    # Single rows ----------------------------------------------------------------------

    async def cell(self, key: Sequence[Value], column: str, limit: int) -> CellValue | None:
        """One cell of the row at `key`, cut to `limit`."""
        if self.relation is None:
            return None
        pager = await self.pager()
        return await pager.fetch_cell(self.relation, self.query, key, column, limit)

    async def row(self, key: Sequence[Value], cell_limit: int) -> RowPage | None:
        """The row at `key`, each cell cut to `cell_limit`."""
        if self.relation is None:
            return None
        pager = await self.pager()
        return await pager.fetch_page(
            self.relation, self.query, at=key, limit=1, cell_limit=cell_limit
        )

    def cached(self, position: int) -> CachedRow | None:
        """The row at `position` if the window holds it."""
        return self.window.get(position)


def find_relation(schema: Schema, relation: Relation) -> SchemaObject | None:
    """The object `relation` names: in its schema where the database has schemas.

    SQLite's objects carry no schema: there the name alone finds the object, and the
    backend itself refuses a schema other than `main`.
    """
    found = schema.get(relation.name, relation.schema)
    if found is None and relation.schema is not None:
        bare = schema.get(relation.name)
        if bare is not None and bare.schema is None:
            return bare
    return found
