"""Where a page of a relation without a paging key starts: views are read by OFFSET.

The same arithmetic for every backend: a view's rows are numbered by their position in
browsing order, and that number is the key handed out for them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from dbinspect.models import Value


async def offset_window(
    after: Sequence[Value] | None,
    before: Sequence[Value] | None,
    at: Sequence[Value] | None,
    offset: int | None,
    limit: int,
    count: Callable[[], Awaitable[int]],
) -> tuple[int, int]:
    """The OFFSET and row count that read the page asked for (`before=()`: the last rows).

    `count` gives the number of rows, read only for the last page.
    """
    if offset is not None:
        return offset, limit
    if after is not None:
        return int(after[-1] or 0) + 1, limit
    if at is not None:
        return int(at[-1] or 0), limit
    if before is not None:
        end = int(before[-1] or 0) if before else await count()
        start = max(0, end - limit)
        return start, end - start
    return 0, limit
