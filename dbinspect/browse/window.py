"""Keeps a bounded, contiguous window of rows around the viewport, and plans what to fetch.

Rows are addressed by their position in browsing order (0 = first row). Positions of a
window reached by seeking into the middle of a big table are estimates; they become
exact when the window touches either end of the table, and the window is then shifted
so the first row is 0 or the last row is `total - 1`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dbinspect.models import RowPage, Value

CACHE_ROWS = 1_000
"""The most rows held at once, whatever the size of the table."""
CACHE_CELLS = 200_000
"""The most cells held at once: a table of more than 200 columns holds fewer rows."""
MIN_ROWS = 100
"""The fewest rows a window holds, however wide its table: more than a screen."""
PAGE_ROWS = 200
"""Rows per fetch when extending the window."""
EXTEND_REACH = 600
"""A viewport no further than this from the window is reached by extending it by key."""


@dataclass(frozen=True, slots=True)
class CachedRow:
    """One row of the window."""

    values: tuple[Value, ...]
    key: tuple[Value, ...]
    """The row's paging position: sort value (when sorted) then key."""
    truncated: dict[int, int] = field(default_factory=dict)
    """Full length of each cell cut short, by column index."""


def page_rows(page: RowPage) -> list[CachedRow]:
    """The rows of a fetched page as window rows."""
    truncated = page.truncated or tuple(() for _ in page.rows)
    return [
        CachedRow(values=values, key=key, truncated=dict(cut))
        for values, key, cut in zip(page.rows, page.keys, truncated, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class FetchPlan:
    """What to fetch so that the rows `[first, last)` can be shown."""

    kind: Literal["first", "last", "after", "before", "seek"]
    limit: int
    position: int = 0
    """For `seek`: the estimated position of the first row to fetch."""


class RowWindow:
    """A contiguous run of rows with positions `start .. start + len - 1`, bounded in size.

    Args:
        max_rows: The most rows it keeps; rows far from the viewport go first.
    """

    def __init__(self, max_rows: int = CACHE_ROWS) -> None:
        self.max_rows = max_rows
        self.page_rows = PAGE_ROWS
        """Rows per fetch."""
        self.reach = EXTEND_REACH
        """How far from the window a viewport is still reached by extending it."""
        self.start = 0
        self.rows: list[CachedRow] = []
        self.at_start = False
        """The first row held is the first row of the table."""
        self.at_end = False
        """The last row held is the last row of the table."""
        self.peak = 0
        """The most rows ever held at once (for tests of the bound)."""

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def end(self) -> int:
        """The position after the last row held."""
        return self.start + len(self.rows)

    def get(self, position: int) -> CachedRow | None:
        """The row at `position`, or None when it is not held."""
        if self.start <= position < self.end:
            return self.rows[position - self.start]
        return None

    def fit(self, columns: int) -> None:
        """Size the window and its fetches for rows of `columns` cells (memory stays bounded).

        Up to 200 columns nothing changes; a 2,000-column table holds 100 rows, fetched
        50 at a time.
        """
        self.max_rows = max(MIN_ROWS, min(CACHE_ROWS, CACHE_CELLS // max(1, columns)))
        self.page_rows = max(MIN_ROWS // 2, self.max_rows * PAGE_ROWS // CACHE_ROWS)
        self.reach = self.page_rows * EXTEND_REACH // PAGE_ROWS

    def clear(self) -> None:
        """Forget every row."""
        self.rows = []
        self.start = 0
        self.at_start = self.at_end = False

    def reset(self, start: int, rows: list[CachedRow], *, at_start: bool, at_end: bool) -> None:
        """Replace the window with `rows`, the first of them at `start`."""
        self.rows = rows[-self.max_rows :]
        self.start = start + len(rows) - len(self.rows)
        self.at_start = at_start and len(rows) == len(self.rows)
        self.at_end = at_end
        self._note_size()

    def append(self, rows: list[CachedRow], *, at_end: bool, keep: int) -> None:
        """Add rows after the last one, dropping rows from the front beyond the bound.

        Args:
            rows: Rows that follow the window's last row.
            at_end: Whether the table has no rows after these.
            keep: A position that must stay held (the top of the viewport).
        """
        self.rows.extend(rows)
        self.at_end = at_end
        excess = len(self.rows) - self.max_rows
        if excess > 0:
            excess = min(excess, max(0, keep - self.start))
            del self.rows[:excess]
            self.start += excess
            self.at_start = self.at_start and excess == 0
        self._note_size()

    def prepend(self, rows: list[CachedRow], *, at_start: bool, keep: int) -> None:
        """Add rows before the first one, dropping rows from the back beyond the bound.

        Args:
            rows: Rows that precede the window's first row.
            at_start: Whether the table has no rows before these.
            keep: A position that must stay held (the bottom of the viewport).
        """
        self.rows[:0] = rows
        self.start -= len(rows)
        self.at_start = at_start
        excess = len(self.rows) - self.max_rows
        if excess > 0:
            excess = min(excess, max(0, self.end - keep - 1))
            del self.rows[len(self.rows) - excess :]
            self.at_end = self.at_end and excess == 0
        self._note_size()

    def _note_size(self) -> None:
        self.peak = max(self.peak, len(self.rows))

    def settle(self, total: int, *, exact: bool) -> tuple[int, int]:
        """Make positions agree with the ends of the table the window touches.

        Args:
            total: The row count shown (exact or estimated).
            exact: Whether `total` is exact.

        Returns:
            `(shift, total)`: how far every position moved, and the total, corrected when
            the window proves it wrong.
        """
        shift = 0
        if self.at_start and self.start != 0:
            shift = -self.start
        elif self.at_end and not self.at_start and self.end != total:
            shift = total - self.end
            if self.start + shift < 0:
                shift = -self.start
        self.start += shift
        if self.at_start and self.at_end:
            total = len(self.rows)
        elif self.at_end:
            total = self.end
        elif self.end >= total and not exact:
            # An estimate that is too low: leave room for the rows still to come.
            total = self.end + 1
        elif self.end > total:
            total = self.end + 1
        return shift, total

    def plan(self, first: int, last: int, total: int) -> FetchPlan | None:
        """What to fetch so rows `[first, last)` can be shown; None when they are held.

        Near the window it is extended by key, which is cheap at any depth; far from it
        (a jump with the scrollbar, Home, End) the window is replaced.
        """
        page = self.page_rows
        last = min(last, total)
        if last <= first:
            return None if self.rows or total == 0 else FetchPlan("first", page)
        span = last - first
        if self.rows and self.start <= first and last <= self.end:
            # Rows kept ready beyond the viewport; fewer when the window has little room
            # to spare (a wide table's), or fetching one side would drop the other's.
            margin = max(0, min(page // 2, (self.max_rows - span - page) // 2))
            if last + margin > self.end and not self.at_end:
                return FetchPlan("after", page)
            if first - margin < self.start and not self.at_start:
                return FetchPlan("before", page)
            return None
        if self.rows and self.end <= first < self.end + self.reach and not self.at_end:
            return FetchPlan("after", max(page, min(self.max_rows - span, last - self.end + page)))
        if self.rows and self.start - self.reach < last <= self.start and not self.at_start:
            return FetchPlan(
                "before", max(page, min(self.max_rows - span, self.start - first + page))
            )
        if self.rows and self.start <= first < self.end and not self.at_end:
            return FetchPlan("after", page)
        if self.rows and self.start < last <= self.end and not self.at_start:
            return FetchPlan("before", page)
        if first <= 0:
            return FetchPlan("first", max(page, span + page // 2))
        if last >= total:
            return FetchPlan("last", max(page, span + page // 2))
        lead = min(first, page // 2)
        return FetchPlan("seek", span + page, position=first - lead)
