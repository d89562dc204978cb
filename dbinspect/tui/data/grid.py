"""Provides `RowGrid`: a grid that renders only its visible lines from a window of rows."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dbinspect.browse.window import CachedRow, RowWindow
from dbinspect.tui.data.format import cell_note, cell_text, fit, is_number
from dbinspect.tui.sanitize import safe_text

GAP = 2
"""Blank cells around each column: one on each side."""
STRIP_CACHE = 256
"""Rendered lines kept; the viewport needs at most its height of them."""


class RowGrid(ScrollView, can_focus=True):
    """A table view over a `RowWindow` whose height is the table's row count.

    It never holds rows itself: it draws what the window holds, a placeholder where a
    row is still being fetched, and posts `ViewportChanged` whenever the visible rows
    change so its owner can fetch them.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("left,h", "cursor_left", "Left", show=False),
        Binding("right,l", "cursor_right", "Right", show=False),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False),
        Binding("pagedown,ctrl+f,space", "page_down", "Page down", show=False),
        Binding("home,g", "first_row", "First row"),
        Binding("end,G", "last_row", "Last row"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "rowgrid--header",
        "rowgrid--cursor",
        "rowgrid--cursor-row",
        "rowgrid--placeholder",
    }
    DEFAULT_CSS = """
    RowGrid {
        height: 1fr;
        background: $surface;
        & > .rowgrid--header { text-style: bold; background: $panel; color: $text; }
        & > .rowgrid--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
        & > .rowgrid--cursor-row { background: $boost; }
        & > .rowgrid--placeholder { color: $text-muted; }
        &:blur > .rowgrid--cursor { background: $block-cursor-blurred-background; }
    }
    """

    class ViewportChanged(Message):
        """The visible rows changed (scrolling, resizing, a new row count)."""

    class CursorMoved(Message):
        """The cursor moved to another cell."""

    class HeaderClicked(Message):
        """A column's header was clicked."""

        def __init__(self, column: int) -> None:
            super().__init__()
            self.column = column

    def __init__(self, window: RowWindow, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.window = window
        self.total = 0
        self.columns: tuple[str, ...] = ()
        self.widths: list[int] = []
        self.right_aligned: list[bool] = []
        self.header_marks: dict[int, str] = {}
        self.cursor_row = 0
        self.cursor_col = 0
        self._offsets: list[int] = []
        self._strips: OrderedDict[tuple[object, ...], Strip] = OrderedDict()

    # Layout -----------------------------------------------------------------------------

    def set_columns(self, columns: tuple[str, ...], widths: list[int], right: list[bool]) -> None:
        """Show these columns with these widths; resets the cursor column."""
        self.columns, self.widths, self.right_aligned = columns, widths, right
        self._offsets = []
        x = 0
        for width in widths:
            self._offsets.append(x)
            x += width + GAP
        self.cursor_col = min(self.cursor_col, max(0, len(columns) - 1))
        self._update_size()

    def set_total(self, total: int) -> None:
        """Make the scrollable height `total` rows (plus the header)."""
        self.total = total
        self.cursor_row = max(0, min(self.cursor_row, total - 1))
        self._update_size()

    def _update_size(self) -> None:
        width = self._offsets[-1] + self.widths[-1] + GAP if self.widths else 0
        self.virtual_size = Size(width, self.total + 1)
        self.invalidate()

    def invalidate(self) -> None:
        """Forget rendered lines (rows arrived or changed) and redraw."""
        self._strips.clear()
        self.refresh()

    def shift(self, delta: int) -> None:
        """Move cursor and scroll position with the rows when their positions are corrected."""
        if delta:
            self.cursor_row = max(0, self.cursor_row + delta)
            self.scroll_to(y=self.scroll_y + delta, animate=False, immediate=True)

    @property
    def data_height(self) -> int:
        """How many rows fit below the header."""
        return max(1, self.scrollable_content_region.height - 1)

    @property
    def view_width(self) -> int:
        """How many cells of a line show: the width less the vertical scrollbar's.

        `size` includes the scrollbar, which is drawn over the line's last cells.
        """
        return self.scrollable_content_region.width

    @property
    def viewport(self) -> tuple[int, int]:
        """Positions `[first, last)` of the rows on screen."""
        first = int(self.scroll_y)
        return first, min(self.total, first + self.data_height)

    @property
    def cursor_cached_row(self) -> CachedRow | None:
        """The row under the cursor, when it is held."""
        return self.window.get(self.cursor_row)

    # Events -------------------------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if int(old_value) != int(new_value):
            self.post_message(self.ViewportChanged())

    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()
        self.post_message(self.ViewportChanged())

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        column = self._column_at(offset.x + int(self.scroll_x))
        if offset.y == 0:
            if column is not None:
                self.post_message(self.HeaderClicked(column))
            return
        row = int(self.scroll_y) + offset.y - 1
        if row < self.total:
            self.move_cursor(row, column if column is not None else self.cursor_col)

    def _column_at(self, x: int) -> int | None:
        for index, start in enumerate(self._offsets):
            if start <= x < start + self.widths[index] + GAP:
                return index
        return None

    # Cursor -------------------------------------------------------------------------------

    def move_cursor(self, row: int, column: int | None = None) -> None:
        """Put the cursor on a cell and scroll it into view."""
        self.cursor_row = max(0, min(row, self.total - 1))
        if column is not None and self.columns:
            self.cursor_col = max(0, min(column, len(self.columns) - 1))
        self._scroll_cursor_into_view()
        self._strips.clear()
        self.refresh()
        self.post_message(self.CursorMoved())

    def _scroll_cursor_into_view(self) -> None:
        first = int(self.scroll_y)
        y: float | None = None
        if self.cursor_row < first:
            y = self.cursor_row
        elif self.cursor_row >= first + self.data_height:
            y = self.cursor_row - self.data_height + 1
        x: float | None = None
        if self._offsets:
            left = self._offsets[self.cursor_col]
            right = left + self.widths[self.cursor_col] + GAP
            if left < self.scroll_x:
                x = left
            elif right > self.scroll_x + self.view_width:
                x = min(left, right - self.view_width)
        if x is not None or y is not None:
            self.scroll_to(x=x, y=y, animate=False, immediate=True)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_cursor_left(self) -> None:
        self.move_cursor(self.cursor_row, self.cursor_col - 1)

    def action_cursor_right(self) -> None:
        self.move_cursor(self.cursor_row, self.cursor_col + 1)

    def action_page_up(self) -> None:
        step = self.data_height
        self.scroll_to(y=self.scroll_y - step, animate=False, immediate=True)
        self.move_cursor(self.cursor_row - step)

    def action_page_down(self) -> None:
        step = self.data_height
        self.scroll_to(y=self.scroll_y + step, animate=False, immediate=True)
        self.move_cursor(self.cursor_row + step)

    def action_first_row(self) -> None:
        self.scroll_to(y=0, animate=False, immediate=True)
        self.move_cursor(0)

    def action_last_row(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)
        self.move_cursor(self.total - 1)

    # Rendering ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.view_width
        base = self.rich_style
        scroll_x = int(self.scroll_x)
        shown = self._shown_columns(scroll_x, width)
        # Lines are drawn from the first column on screen: crop from there.
        left = scroll_x - (self._offsets[shown.start] if shown else 0)
        if y == 0:
            return self._header_strip(shown).crop_extend(left, left + width, base)
        position = int(self.scroll_y) + y - 1
        if position >= self.total:
            return Strip.blank(width, base)
        row = self.window.get(position)
        on_cursor = position == self.cursor_row
        cursor = self.cursor_col if on_cursor else -1
        cache_key = (position, id(row), on_cursor, cursor, shown.start, shown.stop)
        strip = self._strips.get(cache_key)
        if strip is None:
            strip = self._row_strip(row, on_cursor, shown)
            self._strips[cache_key] = strip
            if len(self._strips) > STRIP_CACHE:
                self._strips.popitem(last=False)
        return strip.crop_extend(left, left + width, base)

    def _shown_columns(self, scroll_x: int, width: int) -> range:
        """The columns at least partly on screen, the only ones drawn.

        A table may have 2,000 columns; a screen shows a dozen.
        """
        if not self._offsets:
            return range(0)
        first = max(0, bisect_right(self._offsets, scroll_x) - 1)
        last = bisect_left(self._offsets, scroll_x + width)
        return range(first, max(first + 1, last))

    def _header_strip(self, shown: range) -> Strip:
        style = self.get_component_rich_style("rowgrid--header")
        line = Text(style=style, no_wrap=True)
        for index in shown:
            name = self.columns[index]
            label = safe_text(name)
            mark = self.header_marks.get(index)
            if mark:
                label.append(" " + mark)
            line.append(" ")
            line.append_text(fit(label, self.widths[index]))
            line.append(" ")
        return self._to_strip(line, style, shown)

    def _row_strip(self, row: CachedRow | None, on_cursor: bool, shown: range) -> Strip:
        if row is None:
            style = self.get_component_rich_style("rowgrid--placeholder")
            return self._to_strip(Text(" …", style=style), style, shown)
        row_style = self.get_component_rich_style("rowgrid--cursor-row") if on_cursor else None
        cursor_style = self.get_component_rich_style("rowgrid--cursor")
        line = Text(no_wrap=True)
        for index in shown:
            if index >= len(row.values):
                break
            value = row.values[index]
            full = row.truncated.get(index)
            cell = fit(
                cell_text(value, full),
                self.widths[index],
                right=is_number(value),
                note=cell_note(value, full),
            )
            start = len(line)
            line.append(" ")
            line.append_text(cell)
            line.append(" ")
            if on_cursor and index == self.cursor_col:
                line.stylize(cursor_style, start, len(line))
        if row_style is not None:
            line.stylize_before(row_style)
        return self._to_strip(line, row_style, shown)

    def _to_strip(self, line: Text, style: Style | None, shown: range) -> Strip:
        segments = list(line.render(self.app.console))
        strip = Strip(segments)
        if style is not None:
            # Styled lines (header, cursor row) reach the right edge of the table.
            start = self._offsets[shown.start] if shown else 0
            width = self.virtual_size.width - start
            if strip.cell_length < width:
                strip = Strip([*segments, Segment(" " * (width - strip.cell_length), style)])
        return strip
