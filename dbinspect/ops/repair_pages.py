"""Counts a table's rows from its raw pages, to say how many a salvage could not read.

Reads pages through `sqlite_dbpage` (the bundled SQLite has it; the system one may not)
and follows the table's b-tree by hand: interior pages give their children, leaf pages
their cell count. A page whose header is garbled cannot be counted and is reported as
such, so the figure is exact when every page header is intact, and a floor otherwise.
"""

from __future__ import annotations

from typing import NamedTuple

from dbinspect import sqlite_driver as driver

_LEAF_TABLE = 0x0D
_INTERIOR_TABLE = 0x05


class PageCount(NamedTuple):
    """Rows counted in a table's leaf pages, and the pages that could not be read."""

    rows: int
    unreadable_pages: int


def has_dbpage(conn: driver.Connection) -> bool:
    """Whether this SQLite was built with the `sqlite_dbpage` table (SQLITE_ENABLE_DBPAGE_VTAB)."""
    try:
        conn.execute("SELECT 1 FROM sqlite_dbpage WHERE pgno = 1").fetchall()
    except driver.Error:
        return False
    return True


def count_rows_in_pages(conn: driver.Connection, schema: str, root: int) -> PageCount:
    """Walk the table b-tree rooted at page `root` of `schema`, counting leaf cells."""
    page_count = int(conn.execute(f"PRAGMA {schema}.page_count").fetchone()[0])
    rows = unreadable = 0
    seen: set[int] = set()
    pending = [root]
    while pending:
        number = pending.pop()
        if number in seen or not 1 <= number <= page_count:
            unreadable += 1  # a loop or a pointer out of the file: a garbled parent
            continue
        seen.add(number)
        try:
            found = conn.execute(
                "SELECT data FROM sqlite_dbpage(?) WHERE pgno = ?", (schema, number)
            ).fetchone()
        except driver.Error:
            unreadable += 1
            continue
        data = bytes(found[0]) if found else b""
        start = 100 if number == 1 else 0
        if len(data) < start + 12:
            unreadable += 1
            continue
        kind = data[start]
        cells = int.from_bytes(data[start + 3 : start + 5], "big")
        if kind == _LEAF_TABLE:
            rows += cells
        elif kind == _INTERIOR_TABLE:
            children = _children(data, start, cells)
            if children is None:
                unreadable += 1
            else:
                pending += children
        else:
            unreadable += 1
    return PageCount(rows, unreadable)


def _children(data: bytes, start: int, cells: int) -> list[int] | None:
    """An interior table page's child page numbers (None when its pointers are garbled)."""
    pointers = start + 12
    if pointers + 2 * cells > len(data):
        return None
    children = [int.from_bytes(data[start + 8 : start + 12], "big")]  # the right-most child
    for i in range(cells):
        offset = int.from_bytes(data[pointers + 2 * i : pointers + 2 * i + 2], "big")
        if offset + 4 > len(data):
            return None
        children.append(int.from_bytes(data[offset : offset + 4], "big"))
    return children
