"""Provides `repair`: a SQLite database rebuilt into a new file, never in place.

First a backup of the file as it is (damage included: the backup API copies pages without
reading their contents). Then the cheapest method that yields a sound file:

1. `rebuild`: `VACUUM INTO` the new file (no free page follows), every index built again
   there from its table's rows (`REINDEX`), then `integrity_check` on the result. Enough
   for damaged indexes and freelists (see `_rebuild`).
2. `salvage`: when a table's own pages are damaged, every readable row is copied, table
   by table, stepping over the unreadable pages (see `repair_salvage`).

The report says which method ran, what was recovered and what was not.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from dbinspect import sqlite_driver as driver
from dbinspect.errors import OperationError
from dbinspect.ops.repair_pages import has_dbpage
from dbinspect.ops.repair_salvage import Salvage, is_damage, salvage_into
from dbinspect.textsafe import UNSAFE, file_stem
from dbinspect.url import DatabaseUrl


class RepairResult(NamedTuple):
    """What `repair` did."""

    method: str
    """`rebuild` (VACUUM INTO + REINDEX) or `salvage` (row by row past bad pages)."""
    backup: Path
    output: Path
    problems_before: tuple[str, ...]
    """`integrity_check` on the original."""
    problems_after: tuple[str, ...]
    """`integrity_check` on the new file (empty: sound)."""
    salvage: Salvage | None = None
    notes: tuple[str, ...] = ()


Step = Callable[[str], None]


def default_output(path: Path, now: datetime | None = None) -> Path:
    """`<db>-repaired-<UTC timestamp><suffix>` beside the database (the name made safe to
    show: see `file_stem`)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = path.suffix if path.suffix and not UNSAFE.search(path.suffix) else ".db"
    return path.with_name(f"{file_stem(path.stem)}-repaired-{stamp}{suffix}")


def repair_database(
    url: DatabaseUrl, output: Path | None = None, on_step: Step | None = None
) -> RepairResult:
    """Back up the SQLite database at `url`, then rebuild it into `output`.

    Raises:
        OperationError: Not a SQLite file, its schema is unreadable, or `output` is the
            database itself or exists already.
        ExportError: A file cannot be written.
    """
    step = on_step or (lambda _message: None)
    if url.backend != "sqlite" or url.path is None:
        raise OperationError("repair works on SQLite files", "use pg_dump and pg_restore")
    source = url.path
    if not source.is_file():
        raise OperationError(f"no database file at {source}")
    target = output or default_output(source)
    if target.exists() or target.resolve() == source.resolve():
        raise OperationError(f"{target} exists already: repair never overwrites a file")
    step("backing up")
    backup = _back_up(url)
    from dbinspect.ops.check_sqlite import check_sqlite_file

    step("checking")
    before = check_sqlite_file(source).problems
    notes: list[str] = []
    from dbinspect.export.exporter import replacing_file

    with replacing_file(target) as (out, temp):
        out.close()
        step("rebuilding (VACUUM INTO, REINDEX)")
        method, salvage = "rebuild", None
        after = _rebuild(source, temp)
        if after:
            step("salvaging row by row")
            temp.unlink()
            method = "salvage"
            salvage, after, counting = _salvage(source, temp)
            if not counting:
                notes.append(
                    f"this SQLite ({driver.library_description()}) has no sqlite_dbpage: "
                    "rows lost on unreadable pages are given as rowid ranges, not counted"
                )
        _settle(temp)
    return RepairResult(method, backup, target, before, after, salvage, tuple(notes))


def _back_up(url: DatabaseUrl) -> Path:
    """A copy of the file as it is, next to it, before anything else happens."""
    from dbinspect.export.exporter import replacing_file
    from dbinspect.ops.backup import copy_into_file, default_target, open_source

    assert url.path is not None
    target = default_target(url, "sqlite")
    with replacing_file(target) as (out, temp):
        out.close()
        try:
            source = open_source(url)
        except OperationError:
            source = None  # page 1 itself is damaged: the file's bytes are the backup
        if source is None:
            shutil.copyfile(url.path, temp)
        else:
            try:
                copy_into_file(source, temp)  # pages as they are, not verified: damaged
            finally:
                source.close()
    return target


def _rebuild(source: Path, temp: Path) -> tuple[str, ...]:
    """Rebuild into `temp` with every index made anew; its integrity problems (none: done).

    SQLite cannot drop or REINDEX a garbled index (both walk its pages), and VACUUM INTO
    copies index pages as they are. So, on a page copy of the file, the indexes that have
    SQL are taken out of the schema; `VACUUM INTO` then writes only the tables (no free
    or orphaned page follows), and the indexes are created again from their SQL, with
    `REINDEX` for those SQLite makes itself (UNIQUE, PRIMARY KEY).
    """
    from dbinspect.ops.backup import copy_into_file
    from dbinspect.ops.check_sqlite import check_sqlite_file

    pages = temp.with_name(temp.name + ".pages")
    temp.unlink()  # VACUUM INTO creates it
    try:
        src = driver.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            copy_into_file(src, pages)
        finally:
            src.close()
        conn = driver.connect(pages, isolation_level=None)
        try:
            indexes = conn.execute(
                "SELECT sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"
            ).fetchall()
            conn.execute("PRAGMA writable_schema = ON")
            conn.execute("DELETE FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
            conn.execute("PRAGMA writable_schema = OFF")
        finally:
            conn.close()
        conn = driver.connect(pages, isolation_level=None)
        try:
            conn.execute("VACUUM INTO ?", (str(temp),))
        finally:
            conn.close()
        conn = driver.connect(temp, isolation_level=None)
        try:
            for (sql,) in indexes:
                conn.execute(sql)
            conn.execute("REINDEX")
        finally:
            conn.close()
    except driver.Error as error:
        if not is_damage(error):
            raise OperationError(f"cannot rebuild {source}: {error}") from error
        if not temp.exists():
            temp.touch(mode=0o600)
        return (str(error),)
    finally:
        pages.unlink(missing_ok=True)
        Path(f"{pages}-journal").unlink(missing_ok=True)
    return check_sqlite_file(temp).problems


def _salvage(source: Path, temp: Path) -> tuple[Salvage, tuple[str, ...], bool]:
    from dbinspect.ops.check_sqlite import check_sqlite_file

    # A URI connection, so that ATTACH takes the original as a read-only URI.
    conn = driver.connect(temp.resolve().as_uri(), isolation_level=None, uri=True)
    try:
        try:
            src = driver.connect(source.resolve().as_uri() + "?mode=ro", uri=True)
            page_size, user_version, app_id = (
                src.execute(f"PRAGMA {name}").fetchone()[0]
                for name in ("page_size", "user_version", "application_id")
            )
            src.close()
        except driver.Error as error:
            raise OperationError(
                f"{source}: its schema page is unreadable ({error}); nothing can be salvaged "
                "table by table"
            ) from error
        conn.execute(f"PRAGMA page_size = {int(page_size)}")
        conn.execute(f"PRAGMA user_version = {int(user_version)}")
        conn.execute(f"PRAGMA application_id = {int(app_id)}")
        conn.execute("ATTACH DATABASE ? AS src", (source.resolve().as_uri() + "?mode=ro",))
        counting = has_dbpage(conn)
        # Each statement commits on its own: an unreadable page met inside one long
        # transaction can leave it unable to commit. The new file is a temporary one
        # until renamed, so journal and syncs would buy nothing.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        result = salvage_into(conn, counting=counting)
        conn.execute("DETACH DATABASE src")
    finally:
        conn.close()
    return result, check_sqlite_file(temp).problems, counting


def _settle(path: Path) -> None:
    """Leave the new file as one self-contained file (no -wal beside it)."""
    conn = driver.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
    finally:
        conn.close()


def result_to_lines(result: RepairResult) -> list[str]:
    """What `repair` prints: the files, the method, and what was and was not recovered."""
    lines = [f"backup: {result.backup}"]
    if not result.problems_before:
        lines.append("integrity_check found nothing wrong; rebuilt all the same")
    method = {
        "rebuild": "rebuild (VACUUM INTO, indexes built again, REINDEX)",
        "salvage": "salvage (every readable row, table by table, past unreadable pages)",
    }[result.method]
    lines.append(f"method: {method}")
    if result.salvage is not None:
        for table in result.salvage.tables:
            lost = table.lost_rows
            if lost == 0 and not table.lost_ranges and table.note is None:
                lines.append(f"  {table.table}: {table.recovered:,} rows recovered, none lost")
                continue
            counted = "an unknown number of" if lost is None else f"{lost:,}"
            lines.append(f"  {table.table}: {table.recovered:,} rows recovered, {counted} lost")
            lines += [f"    rowids {a} to {b}: on unreadable pages" for a, b in table.lost_ranges]
            if table.note:
                lines.append(f"    {table.note}")
        lines += [f"  not recreated: {what}" for what in result.salvage.not_recreated]
    else:
        lines.append("  every row recovered; indexes rebuilt, free pages dropped")
    verdict = (
        "passes integrity_check" if not result.problems_after else "STILL FAILS integrity_check"
    )
    lines.append(f"output: {result.output} ({verdict})")
    lines += [f"note: {note}" for note in result.notes]
    return lines
