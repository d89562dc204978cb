"""Provides `DataPane`: the rows of one table or view, paged by key in bounded memory."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Button, Input, Label, ProgressBar
from textual.worker import Worker

from dbinspect.browse.browser import RowBrowser, find_relation
from dbinspect.browse.protocol import Relation, RowPager
from dbinspect.browse.window import FetchPlan, RowWindow
from dbinspect.connections import ConnectionOwner, PagerSource
from dbinspect.errors import ConnectionLostError, DbInspectError, PassingError
from dbinspect.extensions import Extension
from dbinspect.models import Filter, RowPage, RowQuery, SchemaObject, Value
from dbinspect.textsafe import escape_controls
from dbinspect.tui.clipboard import copy_text
from dbinspect.tui.data.detail import CellDetail, DetailScreen
from dbinspect.tui.data.filters import FILTER_SYNTAX, filter_from_text, filter_label
from dbinspect.tui.data.format import (
    clip_value,
    column_width,
    is_number,
    row_json,
    row_tsv,
)
from dbinspect.tui.data.grid import RowGrid
from dbinspect.tui.data.references import Reference, ReferenceChooser, references_to, row_cells
from dbinspect.tui.sanitize import safe_text
from dbinspect.url import DatabaseUrl

T = TypeVar("T")

NO_TABLE_HINT = "No table selected: pick one in Schema (3), then press Enter or d"
"""What the empty pane says, so that a newcomer knows how to fill it."""
FULL_LIMIT = 1 << 20
"""Characters (or bytes) of a cell fetched for the detail view and the clipboard."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where the user was: restored by `b` after following a foreign key."""

    relation: Relation
    query: RowQuery
    key: tuple[Value, ...] | None
    column: int


STALE_INTERRUPT_RETRIES = 10
RETRY_FIRST_S = 2.0
"""A relation unreadable for a passing reason (a lock) is read again after this long,
then twice as long each time, up to `RETRY_LAST_S`."""
RETRY_LAST_S = 60.0
"""Retries of a fetch hit by interrupts aimed at fetches cancelled before it."""
WIDTH_SAMPLE_CELLS = 4_000
"""Cells of a page measured for column widths: all rows of a narrow table, a few of a wide one."""


def _sample(page: RowPage) -> tuple[tuple[Value, ...], ...]:
    """The rows of `page` whose values size the columns."""
    return page.rows[: max(1, WIDTH_SAMPLE_CELLS // max(1, len(page.columns)))]


class DataPane(Vertical):
    """Browse any table or view of any size: header with counts, a grid, a filter box."""

    EMPTY_HINT: ClassVar[str] = NO_TABLE_HINT

    BINDINGS: ClassVar[list[BindingType]] = [
        # Footer order: what fits first on an 80-column terminal; the rest is in `?`.
        # A priority binding, taken as the key arrives: the box has the focus before the
        # keys typed on at once are read (`action_filter`).
        Binding("slash", "filter", "Filter", priority=True),
        Binding("s", "sort", "Sort"),
        Binding("enter", "open_cell", "Cell"),
        Binding("f", "follow_key", "Follow FK"),
        Binding("b", "go_back", "Back"),
        Binding("c", "copy_cell", "Copy cell", show=False),
        Binding("C", "copy_row", "Copy row", show=False),
        Binding("backspace", "drop_filter", "Drop filter", show=False),
        Binding("F", "clear_filters", "Clear filters", show=False),
        Binding("e", "export", "Export", show=False),
        Binding("escape", "stop", "Stop", show=False),
    ]
    DEFAULT_CSS = """
    DataPane {
        height: 1fr;
        #data-header { height: 1; background: $panel; padding: 0 1; }
        #data-title { text-style: bold; width: auto; }
        #data-count { width: auto; margin-left: 2; }
        #data-query { width: 1fr; margin-left: 2; color: $text-muted; }
        #data-position { width: auto; color: $text-muted; }
        #data-progress { width: 24; margin-left: 1; display: none; }
        #data-progress.-counting { display: block; }
        #data-chips { height: auto; display: none; padding: 0 1; }
        #data-chips.-active { display: block; }
        #data-chips Button { min-width: 4; height: 1; border: none; margin-right: 1; }
        #data-filter { display: none; }
        #data-filter.-open { display: block; }
    }
    """

    def __init__(
        self,
        *,
        id: str | None = None,
        connections: PagerSource | None = None,
        extensions: tuple[Extension, ...] = (),
    ) -> None:
        super().__init__(id=id)
        self.connections: PagerSource | None = connections
        """The app's connection owner; without one the pane opens its own per database."""
        self._own_connections = False
        self.extensions = extensions
        """SQLite extensions the pane's own connections load (when it owns them)."""
        self.browser = RowBrowser(self._browse_pager)
        self.url: DatabaseUrl | None = None
        self.history: list[Place] = []
        self._generation = 0
        self._follow_pending = False
        """Another process wrote while a table was being opened or read again."""
        self._count_stopped = False
        """The user stopped the row count (esc): until the next opening, none restarts."""
        self._checking = False
        self._next_check = 0.0
        """When the rows in view may be checked again: a check costs what reading them
        costs, so a view that takes seconds to read (a slow filter) is checked seldom."""
        self._unreadable: DbInspectError | None = None
        """Why the relation shown could not be read; a `PassingError` is read again."""
        self._retry_after = RETRY_FIRST_S
        self._fetching: FetchPlan | None = None
        self._counting = False
        self._chips_shown: tuple[Filter, ...] = ()

    # The browser's state, as the rest of the pane (and its tests) read it.

    @property
    def window(self) -> RowWindow:
        """The bounded window of rows the grid draws from."""
        return self.browser.window

    @property
    def table(self) -> str | None:
        """The name of the relation shown, None before one is chosen."""
        relation = self.browser.relation
        return None if relation is None else relation.name

    @property
    def relation(self) -> Relation | None:
        """The relation shown, qualified by its schema where the database has schemas."""
        return self.browser.relation

    @property
    def row_query(self) -> RowQuery:
        """The filter and sort the rows are browsed under."""
        return self.browser.query

    @property
    def object(self) -> SchemaObject | None:
        """The schema object shown."""
        return self.browser.object

    @property
    def total(self) -> int:
        """The row count (exact or estimated, see `exact`)."""
        return self.browser.total

    @property
    def exact(self) -> bool:
        """Whether `total` was counted."""
        return self.browser.exact

    async def _browse_pager(self) -> RowPager:
        owner = self.connections
        if owner is None:
            raise DbInspectError("no database open")
        return await owner.get("browse")

    def compose(self) -> ComposeResult:
        with Horizontal(id="data-header"):
            yield Label(Text(self.EMPTY_HINT), id="data-title")
            yield Label("", id="data-count")
            yield ProgressBar(total=100, show_eta=False, id="data-progress")
            yield Label("", id="data-query")
            yield Label("", id="data-position")
        yield Horizontal(id="data-chips")
        yield RowGrid(self.window, id="data-grid")
        yield Input(id="data-filter")

    @property
    def grid(self) -> RowGrid:
        """The grid of rows."""
        return self.query_one(RowGrid)

    # Opening ------------------------------------------------------------------------------

    def show(self, url: DatabaseUrl, table: Relation | str) -> None:
        """Show the rows of `table` in the database at `url` (a bare name: SQLite's, or a
        table in PostgreSQL's `public`)."""
        self.history.clear()
        relation = table if isinstance(table, Relation) else Relation(None, table)
        self.open_table(url, relation, RowQuery(), None, 0)

    @work(exclusive=True, group="data-open")
    async def open_table(
        self,
        url: DatabaseUrl,
        relation: Relation,
        query: RowQuery,
        target: tuple[Value, ...] | None,
        column: int,
    ) -> None:
        """Open `relation` under `query`, on the row at `target` (or the first row).

        Filters, sorts, `b` and followed keys open the relation by its schema and name, as
        the browser resolved it: a bare name would find only SQLite's tables or `public`'s.
        """
        self._generation += 1
        generation = self._generation
        self._stop_fetching()
        self._stop_counting()
        try:
            await self._use_database(url)
            opened = await self._guard(self.browser.open(relation, query, target))
        except DbInspectError as error:
            if generation == self._generation:
                self._show_unreadable(error)
            self._show_error(error)
            return
        self._readable()
        if generation != self._generation:
            return
        self._count_stopped = False
        self._tell_dropped(opened.dropped)
        self._setup_columns(opened.page)
        grid = self.grid
        grid.cursor_row = 0
        grid.set_total(max(self.total, self.window.end))
        self._settle()
        grid.scroll_to(
            y=max(0, self.window.start + opened.above - 3), animate=False, immediate=True
        )
        grid.move_cursor(self.window.start + opened.above, column)
        self._update_header()
        if not self.exact:
            self.count_rows()
        self.ensure_rows()

    async def _use_database(self, url: DatabaseUrl) -> None:
        """Read from `url`: the app's connections, or the pane's own for another file."""
        owner = self.connections
        if owner is not None and owner.url == url:
            return
        if owner is not None and self._own_connections:
            await owner.aclose()
        self.history.clear()
        self.browser.forget()
        self.connections = ConnectionOwner(url, self.extensions)
        self._own_connections = True
        self.url = url

    def follow_writes(self) -> None:
        """Another process wrote: read the rows in view again, keeping the place.

        The filter, sort, cursor row and column stay; new, changed and deleted rows
        in view show, and the row count is estimated (or counted) again. A table being
        opened reads the new rows anyway: its opening is not cancelled for this (on a
        busy server, writes elsewhere arrive every second).
        """
        opening = any(w.group == "data-open" and not w.is_finished for w in self.workers)
        if opening:
            self._follow_pending = True  # read again once this one is done
            return
        if self.browser.relation is not None:
            self._reread_after_writes()

    def on_mount(self) -> None:
        self.set_interval(1.0, self._read_again)

    def _read_again(self) -> None:
        """Read a relation again that could not be read for a passing reason (a lock
        let go, a server back), when its time comes (see `RETRY_FIRST_S`)."""
        if not isinstance(self._unreadable, PassingError) or self.browser.relation is None:
            return
        opening = any(w.group == "data-open" and not w.is_finished for w in self.workers)
        if not opening and time.monotonic() >= self._next_check:
            self._reread_after_writes()

    def check_rows(self) -> None:
        """Rows may have changed somewhere on the server: read again only if those in view did.

        A PostgreSQL server's change poll moves for every write on the server; rereading
        the whole view (and restarting its count) each time would stop the user's every
        jump on a busy one. A table being opened reads fresh rows anyway.
        """
        opening = any(w.group == "data-open" and not w.is_finished for w in self.workers)
        if self._checking or time.monotonic() < self._next_check:
            return  # a check still running is never restarted: it would never end
        if isinstance(self._unreadable, PassingError):
            return  # read again by `_read_again`, whatever else changed
        if self.browser.relation is not None and not opening:
            self._checking = True
            self._check_rows()

    @work(exclusive=True, group="data-check")
    async def _check_rows(self) -> None:
        started = time.monotonic()
        try:
            if not self._grid_mounted():
                return
            first, last = self.grid.viewport
            try:
                changed = await self.browser.rows_in_view_changed(first, last)
            except DbInspectError:
                return  # the next poll, or the user's next move, says what is wrong
        finally:
            self._checking = False
            # Checks take at most a fifth of the time: a page that takes 10 s to read
            # is not read again every second because the server is busy elsewhere.
            self._next_check = time.monotonic() + 4 * (time.monotonic() - started)
        if changed:
            self.follow_writes()

    def _grid_mounted(self) -> bool:
        """False once the app is closing: a write noticed then has nothing to show."""
        try:
            return self.grid.is_mounted
        except NoMatches:
            return False

    @on(Worker.StateChanged)
    def _opened(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "data-open" and event.worker.is_finished:
            if self._follow_pending:
                self._follow_pending = False
                self.follow_writes()

    @work(exclusive=True, group="data-open")
    async def _reread_after_writes(self) -> None:
        if self.browser.relation is None or not self._grid_mounted():
            return
        self._generation += 1
        generation = self._generation
        self._stop_fetching()
        self._stop_counting()
        grid = self.grid
        top, _ = grid.viewport
        cursor_offset = grid.cursor_row - top
        column = grid.cursor_col
        try:
            if self.connections is not None:
                # A fresh connection reads the schema afresh: columns may have changed.
                await self.connections.release("browse")
            position, opened = await self._guard(self.browser.reread(grid.cursor_row))
        except DbInspectError as error:
            again = self._unreadable is not None and error.one_line() == self._unreadable.one_line()
            if generation == self._generation:
                self._show_unreadable(error)
            if not again:  # a retry that fails alike says nothing new
                self._show_error(error)
            return
        self._readable()
        if generation != self._generation:
            return
        self._tell_dropped(opened.dropped)
        if opened.page.columns != grid.columns:
            self._setup_columns(opened.page)
        grid.set_total(max(self.total, self.window.end))
        self._settle()
        if opened.page.keys:  # the row (or the one after it): where settling put it
            found = self.browser.position_of_key(opened.page.keys[0])
            position = position if found is None else found
        grid.scroll_to(y=max(0, position - cursor_offset), animate=False, immediate=True)
        last_column = max(0, len(grid.columns) - 1)
        grid.move_cursor(max(0, min(position, self.total - 1)), min(column, last_column))
        grid.invalidate()
        self._update_header()
        if not self.exact and not self._count_stopped:
            self.count_rows()
        self.ensure_rows()

    def _tell_dropped(self, columns: tuple[str, ...]) -> None:
        """Say which sort and filters went with their columns (dropped or renamed)."""
        if columns:
            names = ", ".join(escape_controls(c) for c in columns)
            self.notify(
                f"No longer sorted or filtered by {names}: the column is gone",
                severity="warning",
                markup=False,
            )
            self._show_chips()

    async def _guard(self, work: Awaitable[T]) -> T:
        """Await a query, interrupting SQLite if the worker is cancelled meanwhile."""
        try:
            return await work
        except asyncio.CancelledError:
            # Cancelling the task leaves SQLite running in aiosqlite's thread: stop it so
            # the next query runs at once.
            if self.connections is not None:
                await self.connections.interrupt("browse")
            raise

    def _readable(self) -> None:
        self._unreadable, self._retry_after = None, RETRY_FIRST_S

    def _show_unreadable(self, error: DbInspectError | None = None) -> None:
        """An empty grid under the table's name: its rows could not be read, and the
        header says so; where the cause passes (a lock), the pane reads again later."""
        self._unreadable = error
        if isinstance(error, PassingError):
            self._next_check = time.monotonic() + self._retry_after
            self._retry_after = min(self._retry_after * 2, RETRY_LAST_S)
        self.browser.total, self.browser.exact = 0, True
        grid = self.grid
        grid.set_columns((), [], [])
        grid.set_total(0)
        grid.invalidate()
        self._update_header()

    def _setup_columns(self, page: RowPage) -> None:
        sample = _sample(page)
        widths = [column_width(name, [r[i] for r in sample]) for i, name in enumerate(page.columns)]
        right = [bool(sample) and all(is_number(r[i]) or r[i] is None for r in sample)
                 for i in range(len(page.columns))]  # fmt: skip
        grid = self.grid
        grid.set_columns(page.columns, widths, right)
        grid.header_marks = {}
        if self.row_query.sort_column in page.columns:
            mark = "▼" if self.row_query.descending else "▲"
            grid.header_marks[page.columns.index(self.row_query.sort_column)] = mark

    # Paging -------------------------------------------------------------------------------

    @on(RowGrid.ViewportChanged)
    def ensure_rows(self) -> None:
        """Fetch what the viewport needs, unless a fetch that will provide it is running."""
        if self.table is None or self.connections is None:
            return
        grid = self.grid
        first, last = grid.viewport
        plan = self.window.plan(first, max(last, first + grid.data_height), self.total)
        if plan is None:
            return
        running = self._fetching
        if running is not None and (plan.kind in ("after", "before") or plan == running):
            return  # when it lands, the viewport is planned again
        self._fetching = plan
        self.fetch_rows(plan, self._generation)

    @work(exclusive=True, group="data-fetch")
    async def fetch_rows(self, plan: FetchPlan, generation: int) -> None:
        """Fetch rows per `plan` into the window, then look at the viewport again."""
        if self.table is None:
            return
        try:
            reconnected = False
            for attempt in range(1, STALE_INTERRUPT_RETRIES + 1):
                try:
                    page, start = await self._guard(self.browser.read(plan))
                    break
                except ConnectionLostError:
                    # The server ended the session: the owner opens a new connection
                    # for the next read (`ConnectionOwner.get`); once.
                    if reconnected:
                        raise
                    reconnected = True
                except DbInspectError as error:
                    # This worker was not cancelled (that raises CancelledError), so an
                    # interrupt here was meant for a fetch cancelled a moment ago whose
                    # query had already finished: a fast scrollbar drag cancels many.
                    if attempt == STALE_INTERRUPT_RETRIES or "interrupt" not in error.message:
                        raise
        except DbInspectError as error:
            self._fetching = None
            self._show_error(error)
            return
        if generation != self._generation:
            return
        self._fetching = None
        self.browser.apply(plan, page, start, self.grid.viewport)
        self._widen(page)
        self._settle()
        self.ensure_rows()

    def _widen(self, page: RowPage) -> None:
        """Widen columns whose new values are wider (they never narrow while browsing)."""
        grid = self.grid
        widths = list(grid.widths)
        sample = _sample(page)
        for index, name in enumerate(page.columns[: len(widths)]):
            needed = column_width(name, [r[index] for r in sample])
            widths[index] = max(widths[index], needed)
        if widths != grid.widths:
            grid.set_columns(grid.columns, widths, grid.right_aligned)

    def _settle(self) -> None:
        shift = self.browser.settle()
        grid = self.grid
        total = self.total
        if grid.total != total:
            grid.set_total(total)
        grid.shift(shift)
        grid.invalidate()
        self._update_header()

    def _stop_counting(self) -> None:
        for worker in self.workers:
            if worker.group == "data-count":
                worker.cancel()

    def _stop_fetching(self) -> None:
        self._fetching = None
        for worker in self.workers:
            if worker.group == "data-fetch":
                worker.cancel()

    # Counting ---------------------------------------------------------------------------

    @work(exclusive=True, group="data-count")
    async def count_rows(self) -> None:
        """Count the rows exactly on a connection of its own, showing progress."""
        owner, generation = self.connections, self._generation
        if owner is None or self.table is None:
            return
        progress = self.query_one(ProgressBar)
        self._counting = True
        progress.add_class("-counting")
        progress.update(total=100, progress=0)
        self._update_header()
        counting = RowBrowser(lambda: owner.get("count"), RowWindow())
        counting.relation, counting.query = self.browser.relation, self.browser.query
        try:
            try:
                async for _, fraction in counting.count():
                    progress.update(progress=round(fraction * 100))
            except asyncio.CancelledError:
                await owner.interrupt("count")
                raise
        except DbInspectError as error:
            if "interrupt" not in error.message:
                self._show_error(error)
            return
        finally:
            self._counting = False
            progress.remove_class("-counting")
            self._update_header()
        if generation == self._generation and counting.exact:
            self.browser.total, self.browser.exact = counting.total, True
            self._settle()
            self.ensure_rows()

    def action_stop(self) -> None:
        """Stop the row count and any slow fetch now running."""
        filter_input = self.query_one("#data-filter", Input)
        if filter_input.has_class("-open"):
            filter_input.remove_class("-open")
            self.grid.focus()
            return
        for worker in self.workers:
            if worker.group in ("data-count", "data-fetch"):
                worker.cancel()
        self._fetching = None
        if self._counting:
            self._count_stopped = True  # not restarted by a reread after others' writes
            self.notify("Row count stopped", timeout=2)

    # Header -----------------------------------------------------------------------------

    def _update_header(self) -> None:
        if not self.is_attached:  # a worker ending as the app closes
            return
        title = safe_text(self.title_text()) if self.table else Text(self.EMPTY_HINT)
        self.query_one("#data-title", Label).update(title)
        rows = "row" if self.total == 1 else "rows"
        count = f"{self.total:,} {rows}" if self.exact else f"~{self.total:,} {rows}"
        if self._counting:
            count += " (counting, esc stops)"
        if self._unreadable is not None:
            again = isinstance(self._unreadable, PassingError)
            count = "rows not read: " + ("reading again soon" if again else "see the message")
        self.query_one("#data-count", Label).update(Text(count) if self.table else Text(""))
        self.query_one("#data-query", Label).update(self._query_text())
        self._show_chips()
        grid = self.grid
        position = Text(f"row {grid.cursor_row + 1:,}") if self.total else Text("")
        self.query_one("#data-position", Label).update(position)

    def title_text(self) -> str:
        """The header's title: the relation's name, with its schema where that is not
        the default one (`other.dup` beside `public.dup`)."""
        relation = self.browser.relation
        if relation is None:
            return ""
        if relation.schema in (None, "main", "public"):
            return relation.name
        return f"{relation.schema}.{relation.name}"

    def _query_text(self) -> Text:
        text = Text()
        query = self.row_query
        for index, found in enumerate(query.filters):
            text.append(" and " if index else "where ")
            text.append_text(filter_label(found))
        if query.sort_column is not None:
            text.append("  sorted by " if text else "sorted by ")
            text.append_text(safe_text(query.sort_column))
            text.append(" desc" if query.descending else " asc")
        return text

    def _show_chips(self) -> None:
        """One removable chip per active filter, under the header (rebuilt when they change)."""
        filters = self.row_query.filters if self.table else ()
        if filters == self._chips_shown:
            return
        self._chips_shown = filters
        chips = self.query_one("#data-chips", Horizontal)
        chips.remove_children()
        chips.set_class(bool(filters), "-active")
        for index, found in enumerate(filters):
            label = filter_label(found)
            label.append(" ✕", style="bold")
            chip = Button(label, compact=True, name=str(index), tooltip="Remove this filter")
            chip.can_focus = False  # the keys stay with the grid: backspace drops the last
            chips.mount(chip)

    @on(Button.Pressed, "#data-chips Button")
    def _chip_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._drop_filter(int(event.button.name or 0))

    @on(RowGrid.CursorMoved)
    def _cursor_moved(self) -> None:
        self._update_header()

    def _show_error(self, error: DbInspectError) -> None:
        self.notify(error.one_line(), severity="error", markup=False)

    # Cells --------------------------------------------------------------------------------

    def _cursor_cell(self) -> tuple[tuple[Value, ...], str, int] | None:
        grid = self.grid
        row = grid.cursor_cached_row
        if row is not None and not grid.columns:
            self.notify("The table has no columns: its rows hold no values", timeout=2)
            return None
        if row is None:
            self.notify("The row is still loading", timeout=2)
            return None
        return row.key, grid.columns[grid.cursor_col], grid.cursor_col

    async def _full_cell(self, key: tuple[Value, ...], column: str) -> CellDetail | None:
        if self.table is None:
            return None
        cell = await self.browser.cell(key, column, FULL_LIMIT)
        if cell is None:
            self.notify("The row is gone (the table changed)", severity="warning")
            return None
        return CellDetail(table=self.table, column=column, key=key, cell=cell)

    async def _cursor_detail(self) -> CellDetail | None:
        """The full cell under the cursor; None when there is none (errors are shown)."""
        where = self._cursor_cell()
        if where is None:
            return None
        try:
            return await self._full_cell(where[0], where[1])
        except DbInspectError as error:
            self._show_error(error)
            return None

    @work(exclusive=True, group="data-cell")
    async def action_open_cell(self) -> None:
        """Open the cell under the cursor in a detail view."""
        detail = await self._cursor_detail()
        if detail is not None:
            self.app.push_screen(DetailScreen(detail))

    @work(exclusive=True, group="data-cell")
    async def action_copy_cell(self) -> None:
        """Copy the cell under the cursor through the terminal clipboard."""
        detail = await self._cursor_detail()
        if detail is None:
            return
        where = await copy_text(clip_value(detail.cell.value), self.app.copy_to_clipboard)
        cut = detail.cell.size > FULL_LIMIT
        what = "the first 1 MB of the cell" if cut else "the cell"
        self.notify(f"Copied {what} to {where}", timeout=3)

    async def _full_row(self) -> tuple[tuple[str, ...], tuple[Value, ...]] | None:
        where = self._cursor_cell()
        if where is None or self.table is None:
            return None
        page = await self.browser.row(where[0], FULL_LIMIT)
        if page is None or not page.rows:
            return None
        return page.columns, page.rows[0]

    @work(exclusive=True, group="data-cell")
    async def action_copy_row(self) -> None:
        """Copy the row under the cursor as TSV (a header line, then the row)."""
        await self._copy_row(as_json=False)

    @work(exclusive=True, group="data-cell")
    async def action_copy_row_json(self) -> None:
        """Copy the row under the cursor as a JSON object."""
        await self._copy_row(as_json=True)

    async def _copy_row(self, *, as_json: bool) -> None:
        try:
            found = await self._full_row()
        except DbInspectError as error:
            self._show_error(error)
            return
        if found is None:
            return
        columns, values = found
        where = await copy_text(
            row_json(columns, values) if as_json else row_tsv(columns, values),
            self.app.copy_to_clipboard,
        )
        self.notify(f"Copied the row as {'JSON' if as_json else 'TSV'} to {where}", timeout=3)

    # Foreign keys -------------------------------------------------------------------------

    def action_follow_key(self) -> None:
        """Open the row the foreign key under the cursor points at, or else the rows of
        other tables whose foreign keys point at this row (a chooser when several do)."""
        grid = self.grid
        row = grid.cursor_cached_row
        if row is None or self.object is None or self.table is None:
            return
        if not grid.columns:
            self.notify("The table has no columns: no key to follow", timeout=2)
            return
        column = grid.columns[grid.cursor_col]
        fk = next((k for k in self.object.foreign_keys if column in k.columns), None)
        if fk is None:
            self.follow_references(column, row_cells(grid.columns, row.values))
            return
        values = [row.values[grid.columns.index(c)] for c in fk.columns if c in grid.columns]
        if any(v is None for v in values) or len(values) != len(fk.columns):
            self.notify("The key is NULL: it points at no row", timeout=2)
            return
        parent = Relation(fk.ref_schema, fk.ref_table)
        self.follow_key(parent, fk.ref_columns, tuple(values), fk.columns.index(column))

    @work(exclusive=True, group="data-follow")
    async def follow_key(
        self,
        referenced: Relation,
        ref_columns: tuple[str | None, ...],
        values: tuple[Value, ...],
        part: int,
    ) -> None:
        """Find the referenced row and open its table on it."""
        owner = self.connections
        if owner is None or self.table is None:
            return
        url = owner.url
        try:
            backend = await owner.get("browse")
            parent = find_relation(await backend.schema(), referenced)
            if parent is None:
                raise DbInspectError(f"the referenced table {referenced} does not exist")
            names = [c for c in ref_columns if c is not None]
            if len(names) != len(values):
                pk = sorted((c for c in parent.columns if c.pk), key=lambda c: c.pk)
                names = [c.name for c in pk] or ["rowid"]
            match = dict(zip(names, values, strict=False))
            key = await backend.find_key(Relation(parent.schema, parent.name), match)
        except DbInspectError as error:
            self._show_error(error)
            return
        if key is None:
            self.notify("No row matches the key (a dangling reference)", severity="warning")
            return
        self._remember_place()
        target_column = 0
        if names[part] in [c.name for c in parent.columns]:
            target_column = [c.name for c in parent.columns if c.hidden in (0, 2, 3)].index(
                names[part]
            )
        self.open_table(url, Relation(parent.schema, parent.name), RowQuery(), key, target_column)

    @work(exclusive=True, group="data-follow")
    async def follow_references(self, column: str, row: dict[str, Value]) -> None:
        """Open the rows that reference this row through `column`, or offer a choice."""
        owner = self.connections
        if owner is None or self.object is None:
            return
        try:
            schema = await (await owner.get("browse")).schema()
        except DbInspectError as error:
            self._show_error(error)
            return
        found = references_to(schema, self.object, column, row)
        if not found:
            self.notify(
                f"{column} is not a foreign key, and no foreign key references it from this row",
                timeout=3,
                markup=False,
            )
        elif len(found) == 1:
            self._open_reference(found[0])
        else:
            title = Text("Rows referencing ")
            title.append_text(safe_text(f"{self.table}.{column}"))
            self.app.push_screen(ReferenceChooser(title, found), self._open_reference)

    def _open_reference(self, reference: Reference | None) -> None:
        """Open the referencing rows, remembering this row for `b`."""
        if reference is None or self.connections is None or self.table is None:
            return
        self._remember_place()
        query = RowQuery(filters=reference.filters)
        self.open_table(self.connections.url, reference.relation, query, None, 0)

    def _remember_place(self) -> None:
        """Note the row under the cursor, for `b` to return to."""
        relation, here = self.relation, self.grid.cursor_cached_row
        if relation is not None:
            place = Place(
                relation, self.row_query, here.key if here else None, self.grid.cursor_col
            )
            self.history.append(place)

    def action_go_back(self) -> None:
        """Return to the row a foreign key was followed from."""
        if not self.history or self.connections is None:
            self.notify("Nowhere to go back to", timeout=2)
            return
        place = self.history.pop()
        self.open_table(self.connections.url, place.relation, place.query, place.key, place.column)

    # Filter and sort ----------------------------------------------------------------------

    def action_filter(self) -> None:
        """Ask for a value to filter the cursor's column by."""
        grid = self.grid
        if not grid.columns:
            return
        column = grid.columns[grid.cursor_col]
        box = self.query_one("#data-filter", Input)
        # A placeholder is drawn as it is: the column's name is escaped here.
        box.placeholder = f"{escape_controls(column)}: {FILTER_SYNTAX}   (empty clears all)"
        box.value = ""
        box.add_class("-open")
        # At once: `Widget.focus` waits in the message queue, behind keys already typed
        # (which the app's priority keys, 1 to 7, would then take).
        self.screen.set_focus(box)

    def check_action(self, action: str, parameters: tuple[Any, ...]) -> bool | None:
        if action == "filter" and self.query_one("#data-filter", Input).has_focus:
            return False  # `/` typed into the filter box is part of its value
        return True

    @on(Input.Submitted, "#data-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        box = event.input
        box.remove_class("-open")
        self.grid.focus()
        if self.connections is None or self.table is None:
            return
        text = event.value
        grid = self.grid
        filters = self.row_query.filters
        if text.strip() == "":
            filters = ()
        else:
            found = filter_from_text(grid.columns[grid.cursor_col], text)
            filters = filters if found in filters else (*filters, found)
        self._filter_by(filters)

    def _filter_by(self, filters: tuple[Filter, ...]) -> None:
        """Browse the same table under `filters` (every one must hold), keeping the sort."""
        if self.connections is None or self.relation is None:
            return
        query = replace(self.row_query, filters=filters)
        self.open_table(self.connections.url, self.relation, query, None, self.grid.cursor_col)

    def _drop_filter(self, index: int) -> None:
        filters = self.row_query.filters
        if 0 <= index < len(filters):
            self._filter_by(filters[:index] + filters[index + 1 :])

    def action_drop_filter(self) -> None:
        """Remove the filter added last."""
        if not self.row_query.filters:
            self.notify("No filter to remove", timeout=2)
            return
        self._drop_filter(len(self.row_query.filters) - 1)

    def action_clear_filters(self) -> None:
        """Remove every filter."""
        if self.row_query.filters:
            self._filter_by(())

    def action_sort(self, column: int | None = None) -> None:
        """Sort by the cursor's column: ascending, then descending, then key order."""
        grid = self.grid
        relation = self.relation
        if self.connections is None or relation is None or not grid.columns:
            return
        name = grid.columns[grid.cursor_col if column is None else column]
        query = self.row_query
        if query.sort_column != name:
            query = replace(query, sort_column=name, descending=False)
        elif not query.descending:
            query = replace(query, descending=True)
        else:
            query = replace(query, sort_column=None, descending=False)
        self.open_table(self.connections.url, relation, query, None, grid.columns.index(name))

    @on(RowGrid.HeaderClicked)
    def _header_clicked(self, event: RowGrid.HeaderClicked) -> None:
        self.action_sort(event.column)

    # Export -------------------------------------------------------------------------------

    def action_export(self) -> None:
        """Export the rows as browsed (filters and sort) to a file: format and path asked."""
        relation, owner = self.browser.relation, self.connections
        if relation is None or owner is None:
            self.notify("No table to export", timeout=2)
            return
        # Imported on first use: the exporter is not needed for the app's first frame.
        from dbinspect.tui.data.export_dialog import ExportScreen

        screen = ExportScreen(owner, relation, self.row_query, self.total, exact=self.exact)
        self.app.push_screen(screen)

    # Closing ------------------------------------------------------------------------------

    async def on_unmount(self) -> None:
        for worker in self.workers:
            worker.cancel()
        if self.connections is not None and self._own_connections:
            await self.connections.aclose()
