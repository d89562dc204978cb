"""Provides the loading of a `sql` or `json` backup into a new, scratch SQLite database.

The scratch database is the check restore makes before touching the live one: a dump
that fails part way, or is cut short, fails here. A SQL file runs statement by statement
(as the `sqlite3` shell runs it) inside one transaction of ours, its own BEGIN and
COMMIT skipped; ATTACH is refused, so a hostile dump cannot write any other file.
A JSON backup replays `sqlite_dump`'s plan: the same statements as the SQL dump, the rows
bound as parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from dbinspect import sqlite_driver as driver
from dbinspect.errors import OperationError
from dbinspect.export.encode import SURROGATE, decode_json_value, sql_insert
from dbinspect.models import Value
from dbinspect.ops import sqlite_dump as plan
from dbinspect.ops.backup_files import JSON_FORMAT
from dbinspect.ops.json_backup_lines import BackupLines

Progress = Callable[[int, int | None], None]

_TRANSACTION = re.compile(r"\s*(BEGIN|COMMIT|END)\b", re.I)
_ROLLBACK = re.compile(r"\s*ROLLBACK\b", re.I)
_PRAGMA = re.compile(r"\s*PRAGMA\b", re.I)


def _authorize(action: int, *_: str | None) -> int:
    if action in (driver.SQLITE_ATTACH, driver.SQLITE_DETACH):
        return driver.SQLITE_DENY
    return driver.SQLITE_OK


class ScratchLoader:
    """Runs a backup's statements on a new SQLite file, in one transaction."""

    def __init__(self, path: Path) -> None:
        self.open_transaction = False
        self.conn = driver.connect(path, isolation_level=None)
        self.conn.set_authorizer(_authorize)
        self.conn.execute("PRAGMA journal_mode = OFF")  # a scratch file: no journal needed
        self.conn.execute("PRAGMA synchronous = OFF")

    def close(self) -> None:
        self.conn.close()

    def run(self, statement: str) -> None:
        """Run one complete statement (or several on one line) from a backup."""
        found = _TRANSACTION.match(statement)
        if found:  # a BEGIN the file has not ended with COMMIT or END means a cut file
            self.open_transaction = found.group(1).upper() == "BEGIN"
            return
        if _ROLLBACK.match(statement):
            raise OperationError("the dump ends with ROLLBACK: it was written with errors")
        if not self.conn.in_transaction and not _PRAGMA.match(statement):
            self.conn.execute("BEGIN")  # after the leading pragmas (the encoding)
        try:
            self.conn.execute(statement)
        except driver.ProgrammingError as error:
            if "one statement at a time" not in str(error):
                raise
            for part in _split(statement):
                self.run(part)

    def insert(self, prefix: str, columns: int, rows: list[tuple[Value, ...]]) -> None:
        """Insert rows given as values; text that is not UTF-8 (lone surrogates) cannot be
        bound, so such a row goes in as SQL literals (`CAST(X'..' AS TEXT)`)."""
        marks = prefix + ", ".join("?" * columns) + ")"
        plain: list[tuple[Value, ...]] = []
        for row in rows:
            if any(isinstance(value, str) and SURROGATE.search(value) for value in row):
                self.conn.execute(sql_insert(prefix, row))
            else:
                plain.append(row)
        self.conn.executemany(marks, plain)

    def finish(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")


def _split(text: str) -> Iterator[str]:
    """The statements of `text`: each `;` after which the text so far is complete ends one."""
    start = 0
    for position, char in enumerate(text):
        if char == ";" and driver.complete_statement(text[start : position + 1]):
            if text[start:position].strip():
                yield text[start : position + 1]
            start = position + 1


def load_sql(source: BinaryIO, loader: ScratchLoader, on_progress: Progress | None) -> None:
    """Run a SQL dump's statements, a complete statement at a time."""
    pending: list[str] = []
    read = 0
    for raw in source:
        read += len(raw)
        pending.append(raw.decode("utf-8", "surrogateescape"))
        text = "".join(pending) if len(pending) > 1 else pending[0]
        if driver.complete_statement(text):
            loader.run(text)
            pending.clear()
            if on_progress is not None:
                on_progress(read, None)
    if "".join(pending).strip():
        raise OperationError("the dump ends in the middle of a statement: it is truncated")
    if loader.open_transaction:
        raise OperationError("the dump ends before the COMMIT of its BEGIN: it is truncated")
    loader.finish()


def load_json(source: BinaryIO, loader: ScratchLoader, on_progress: Progress | None) -> None:
    """Replay a JSON backup (the layout `backup_files` writes, a line at a time)."""
    backup = BackupLines(iter(source))
    head = backup.head()
    if head.get("format") != JSON_FORMAT or head.get("backend") != "sqlite":
        raise OperationError("this JSON file is not a dbinspect backup of a SQLite database")
    pragmas = head["pragmas"]
    entries = [
        plan.SchemaEntry(e["type"], e["name"], e["tbl_name"], e["sql"]) for e in head["schema"]
    ]
    by_name = {e.name: e for e in entries}
    for statement in _split(plan.prologue(plan.Pragmas(**pragmas))):
        loader.run(statement)
    for about in backup.tables():
        table = plan.TableData(about["name"], tuple(about["columns"]), about["load"])
        for statement in _split(plan.table_head(table, by_name)):
            loader.run(statement)
        prefix = plan.insert_prefix(table)
        batch: list[tuple[Value, ...]] = []
        for row in backup.rows():
            batch.append(tuple(decode_json_value(v) for v in row.values()))
            if len(batch) == plan.BATCH_ROWS:
                loader.insert(prefix, len(table.columns), batch)
                batch.clear()
                if on_progress is not None:
                    on_progress(backup.read, None)
        loader.insert(prefix, len(table.columns), batch)
        for statement in _split(plan.table_tail(table)):
            loader.run(statement)
    for statement in _split(plan.epilogue(entries)):
        loader.run(statement)
    loader.finish()
