"""Salvages every readable row of a damaged SQLite file into a new one, table by table.

Method: each rowid table is read in rowid order, in batches, through SQL. A batch that
meets an unreadable page fails with SQLITE_CORRUPT; it is retried smaller, down to one
row, and past a page that cannot be read at all, the next readable rowid is found by
probing forward (doubling the step, then bisecting back), so every row on an intact
page is kept and only the damaged pages' rows are lost. Chosen over parsing b-tree cells
from `sqlite_dbpage` by hand: SQLite itself decodes every record (overflow pages,
encodings, serial types), and the same code works whatever SQLite is in use.
`sqlite_dbpage` is used only to count the rows a damaged table held (`repair_pages`).
"""

from __future__ import annotations

from typing import NamedTuple

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_names import quote_identifier as q
from dbinspect.ops.repair_pages import count_rows_in_pages

MIN_ROWID, MAX_ROWID = -(2**63), 2**63 - 1
BATCH_ROWS = 2048
_DAMAGED = (driver.SQLITE_CORRUPT, driver.SQLITE_NOTADB, driver.SQLITE_IOERR)


class TableSalvage(NamedTuple):
    """What became of one table's rows."""

    table: str
    recovered: int
    lost_rows: int | None
    """Rows the damaged table held that were not recovered; None when uncountable."""
    lost_ranges: tuple[tuple[int, int], ...]
    """Rowid ranges that sat on unreadable pages."""
    note: str | None = None


class Salvage(NamedTuple):
    """The outcome of a salvage."""

    tables: tuple[TableSalvage, ...]
    not_recreated: tuple[str, ...]
    """Objects (indexes, views, triggers) whose CREATE failed on the salvaged rows."""


def is_damage(error: BaseException) -> bool:
    """Whether a driver error means an unreadable page rather than a mistake."""
    return driver.primary_code(error) in _DAMAGED


def salvage_into(target: driver.Connection, *, counting: bool) -> Salvage:
    """Copy the schema and every readable row of `src` (attached to `target`) into main.

    Args:
        target: A connection to the new, empty file with the damaged one attached as
            `src` (read-only).
        counting: `sqlite_dbpage` is available to count what damaged tables held.
    """
    objects = target.execute(
        "SELECT type, name, tbl_name, sql, rootpage FROM src.sqlite_schema "
        "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
    ).fetchall()
    shadow = _shadow_tables(target)
    tables = [o for o in objects if o[0] == "table" and o[1] not in shadow]
    for _, _, _, sql, _ in tables:
        target.execute(sql)
    results = [_copy_table(target, name, root, sql, counting) for _, name, _, sql, root in tables]
    _copy_sequence(target)
    failed = []
    for kind, name, _, sql, _ in objects:
        if kind in ("index", "view", "trigger"):
            try:
                target.execute(sql)
            except driver.Error as error:
                failed.append(f"{kind} {name}: {error}")
    return Salvage(tuple(results), tuple(failed))


def _shadow_tables(conn: driver.Connection) -> set[str]:
    try:
        rows = conn.execute(
            "SELECT name FROM pragma_table_list WHERE schema = 'src' AND type = 'shadow'"
        )
        return {str(r[0]) for r in rows}
    except driver.Error:
        return set()


def _copy_sequence(conn: driver.Connection) -> None:
    try:
        rows = conn.execute("SELECT name, seq FROM src.sqlite_sequence").fetchall()
    except driver.Error:
        return  # no AUTOINCREMENT table, or its page is lost: SQLite restarts from max(rowid)
    conn.execute("DELETE FROM main.sqlite_sequence")
    conn.executemany("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", rows)


def _columns(conn: driver.Connection, table: str) -> tuple[list[str], bool]:
    """Columns to copy (stored ones, without a rowid alias) and whether rows have rowids."""
    info = conn.execute("SELECT name, type, pk, hidden FROM pragma_table_xinfo(?, 'src')", (table,))
    rows = info.fetchall()
    stored = [r for r in rows if r[3] == 0]
    without_rowid = bool(
        conn.execute(
            "SELECT wr FROM pragma_table_list WHERE schema = 'src' AND name = ?", (table,)
        ).fetchone()[0]
    )
    keys = [r for r in rows if r[2] > 0]
    alias = len(keys) == 1 and str(keys[0][1]).upper() == "INTEGER" and not without_rowid
    names = [str(r[0]) for r in stored if not (alias and r[2] > 0)]
    return names, not without_rowid


def _copy_table(
    conn: driver.Connection, table: str, root: int, sql: str, counting: bool
) -> TableSalvage:
    if sql.upper().lstrip().startswith("CREATE VIRTUAL"):
        return _copy_whole(conn, table, "*", "*")
    names, has_rowid = _columns(conn, table)
    listed = ", ".join(q(n) for n in names)
    if not has_rowid:
        return _copy_whole(conn, table, listed, listed)
    insert = (
        f"INSERT INTO main.{q(table)} (rowid{', ' if names else ''}{listed}) "
        f"SELECT rowid{', ' if names else ''}{listed} FROM src.{q(table)} "
        "WHERE rowid >= ? ORDER BY rowid LIMIT ?"
    )
    # A probe reads a whole row, as the copy does: a seek can succeed on a page whose
    # records are garbled, and would then hand back a garbled rowid.
    probe = (
        f"SELECT rowid{', ' if names else ''}{listed} FROM src.{q(table)} "
        "WHERE rowid >= ? ORDER BY rowid LIMIT 1"
    )
    last = f"SELECT max(rowid) FROM main.{q(table)}"
    recovered, ranges = 0, []
    low: int | None = MIN_ROWID
    batch = BATCH_ROWS
    while low is not None:
        try:
            copied = conn.execute(insert, (low, batch)).rowcount
        except driver.Error as error:
            if not is_damage(error):
                raise
            if batch > 1:
                batch //= 2
                continue
            low, skipped = _step_over(conn, probe, low)
            ranges.append(skipped)
            continue
        if copied <= 0:
            break
        recovered += copied
        top = conn.execute(last).fetchone()[0]
        low = None if top >= MAX_ROWID else top + 1
        batch = min(batch * 2, BATCH_ROWS)
    lost_rows: int | None = 0 if not ranges else None
    note = None
    if ranges and counting:
        held = count_rows_in_pages(conn, "src", root)
        lost_rows = max(held.rows - recovered, 0)
        if held.unreadable_pages:
            note = f"{held.unreadable_pages} page(s) too damaged to count: at least this many"
    return TableSalvage(table, recovered, lost_rows, tuple(ranges), note)


def _readable_from(conn: driver.Connection, probe: str, rowid: int) -> bool:
    """Whether the first row at or after `rowid` can be read whole (or there is none)."""
    try:
        conn.execute(probe, (rowid,)).fetchall()
    except driver.Error as error:
        if not is_damage(error):
            raise
        return False
    return True


def _step_over(conn: driver.Connection, probe: str, low: int) -> tuple[int | None, tuple[int, int]]:
    """Past unreadable rows at `low`: where reading resumes (None: nowhere), what was skipped.

    Doubles the step until a read lands past the damage, then bisects back to the first
    rowid from which a read succeeds, so no readable row after the damage is skipped.
    """
    bad, step = low, 1
    while True:
        good = min(low + step, MAX_ROWID)
        if _readable_from(conn, probe, good):
            break
        if good == MAX_ROWID:
            return None, (low, MAX_ROWID)
        bad, step = good, step * 2
    while good - bad > 1:
        middle = (bad + good) // 2
        if _readable_from(conn, probe, middle):
            good = middle
        else:
            bad = middle
    return good, (low, good - 1)


def _copy_whole(conn: driver.Connection, table: str, into: str, source: str) -> TableSalvage:
    """A table without rowids (or a virtual one), copied in one statement or not at all."""
    into_list = "" if into == "*" else f" ({into})"
    try:
        copied = conn.execute(
            f"INSERT INTO main.{q(table)}{into_list} SELECT {source} FROM src.{q(table)}"
        ).rowcount
    except driver.Error as error:
        if not is_damage(error):
            raise
        return TableSalvage(table, 0, None, (), f"unreadable, not copied: {error}")
    return TableSalvage(table, max(copied, 0), 0, ())
