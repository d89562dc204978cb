"""Provides the `sql` and `json` backups of a SQLite database, streamed to the file.

Both follow `sqlite_dump`'s plan in one read transaction (one moment of the database),
a batch of rows at a time, so memory stays flat however large the database. The JSON
file is strict RFC 8259 (the exporter's JSON Lines values: a BLOB is `{"$blob": hex}`,
an infinity `{"$real": "Infinity"}`), laid out one row per line so that restore reads
it back a line at a time:

    {"format": "dbinspect-backup", "version": 1, "backend": "sqlite", "pragmas": {...},
     "schema": [{"type", "name", "tbl_name", "sql"}, ...], "tables": [       (one line)
    {"name": "t", "columns": [...], "load": "rows", "rows": [
    {"id": 1, "v": "a"},
    ...
    ]},
    ...
    ]}
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from dbinspect.errors import OperationError
from dbinspect.export.batch import json_lines
from dbinspect.export.encode import file_bytes, json_bytes, json_keys
from dbinspect.export.exporter import replacing_file
from dbinspect.ops import sqlite_dump as plan
from dbinspect.ops.backup import BackupFormat, BackupResult, Progress, open_source, source_uri
from dbinspect.ops.dump_helper import Chunk, DumpHelper, encoded_chunk, split_rowids
from dbinspect.sqlite_driver import Connection
from dbinspect.sqlite_driver import Error as SqliteError
from dbinspect.url import DatabaseUrl

JSON_FORMAT = "dbinspect-backup"
JSON_VERSION = 1


def dump_to_file(
    url: DatabaseUrl, fmt: BackupFormat, target: Path, on_progress: Progress | None = None
) -> BackupResult:
    """Write the SQL dump or the JSON backup of the SQLite database `url` to `target`.

    Raises:
        OperationError: The database cannot be read.
        ExportError: The file cannot be written.
    """
    source = open_source(url)
    count = 0
    # Read before the dump's snapshot is taken, and again once a helper's is (see
    # `dump_helper`): the same value says both are the same moment.
    probe = open_source(url) if fmt == "sql" else None
    try:
        version = _data_version(probe) if probe is not None else 0
        source.execute("BEGIN")  # one snapshot for every table
        with replacing_file(target) as (out, _):
            writer = _Writer(out, on_progress)
            try:
                if probe is not None:
                    count = _write_sql(source, writer, _Helping(url, probe, version))
                else:
                    count = _write_json(source, writer)
            finally:
                writer.close()
    except SqliteError as error:
        raise OperationError(f"cannot read {url.path}: {error}") from None
    finally:
        source.close()
        if probe is not None:
            probe.close()
    return BackupResult(target, target.stat().st_size, f"{count:,} rows")


class _Writer:
    """Writes to the file on a thread of its own and reports the bytes handed over so far.

    The file's writes (and the kernel's copying) release the GIL, so they overlap the
    reading and encoding of the next rows. A few batches wait at most (`QUEUED` of about
    100 KB each): memory stays flat. A write that fails (a full disk) is raised here, at
    the next call or at `close`. `relay` hands the file to a task in turn (the helper's
    chunks, copied from its pipe by the kernel).
    """

    QUEUED = 8

    def __init__(self, out: BinaryIO, on_progress: Progress | None) -> None:
        self._progress = on_progress
        self._queue: queue.Queue[bytes | Callable[[BinaryIO], int] | None] = queue.Queue(
            self.QUEUED
        )
        self._failure: Exception | None = None
        self._thread = threading.Thread(target=self._drain, args=(out,), daemon=True)
        self._thread.start()
        self.written = 0

    def _drain(self, out: BinaryIO) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is None:
                try:
                    if isinstance(item, bytes):
                        out.write(item)
                    else:
                        out.flush()
                        self.written += item(out)
                except Exception as error:
                    self._failure = error  # the rest is taken and dropped: no caller waits
            self._queue.task_done()

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failure

    def __call__(self, data: bytes) -> None:
        self._check()
        self._queue.put(data)
        self.written += len(data)
        if self._progress is not None:
            self._progress(self.written, None)

    def relay(self, task: Callable[[BinaryIO], int]) -> None:
        """Let `task` write to the file after what is queued; it returns the bytes written."""
        self._check()
        self._queue.put(task)

    def sync(self) -> None:
        """Wait until everything queued is written."""
        self._queue.join()
        self._check()

    def close(self) -> None:
        """Wait for every write; raise the one that failed."""
        self._queue.put(None)
        self._thread.join()
        self._check()


def _data_version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


class _Helping:
    """Whether a helper process (`dump_helper`) encodes half of the large tables' rows:
    started at the first large table, used once it holds the dump's snapshot."""

    def __init__(self, url: DatabaseUrl, probe: Connection, version: int) -> None:
        self._url, self._probe, self._version = url, probe, version
        self._helper: DumpHelper | None = None
        self._started = False
        self._checked = False

    def start(self) -> DumpHelper | None:
        """The helper, started now if it was not (None when it cannot start)."""
        if not self._started and self._url.path is not None:
            self._started = True
            self._helper = DumpHelper.start(source_uri(self._url.path), self._url.path)
        return self._helper

    def confirmed(self) -> bool:
        """Whether the helper reads the dump's snapshot (asked once; ended if not)."""
        if not self._checked and self._helper is not None:
            self._checked = True
            same = self._helper.ready() and _data_version(self._probe) == self._version
            if not same:
                self.close()
        return self._helper is not None

    def relayed_rows(self) -> int:
        return self._helper.rows if self._helper is not None else 0

    def close(self) -> None:
        if self._helper is not None:
            self._helper.close()
            self._helper = None


def _write_sql(source: Connection, write: _Writer, helping: _Helping) -> int:
    entries = plan.read_entries(source)
    by_name = {e.name: e for e in entries}
    write(file_bytes(plan.prologue(plan.read_pragmas(source))))
    count = 0
    try:
        for table in plan.read_tables(source, entries):
            write(file_bytes(plan.table_head(table, by_name)))
            split = split_rowids(source, table) if table.load == "rows" else None
            if split is not None:
                count += _write_split(source, table, split, write, helping)
            elif table.load == "rows":
                prefix = plan.insert_prefix(table)
                for rows in plan.read_rows(source, table):
                    write(file_bytes(plan.table_rows(prefix, rows)))
                    count += len(rows)
            write(file_bytes(plan.table_tail(table)))
        write.sync()  # the helper's last chunks are in the file
        count += helping.relayed_rows()
    finally:
        helping.close()
    write(file_bytes(plan.epilogue(entries)))
    return count


def _write_split(
    source: Connection,
    table: plan.TableData,
    split: tuple[str, list[Chunk]],
    write: _Writer,
    helping: _Helping,
) -> int:
    """A large table's rows, chunk by chunk in rowid order: the even chunks encoded
    here, the odd ones by the helper meanwhile (here too when there is none); the rows
    counted here (the helper counts its own)."""
    rowid, chunks = split
    helper = helping.start()
    if helper is not None:
        helper.ask(table, rowid, chunks[1::2])
    count = 0
    for number, chunk in enumerate(chunks):
        if number % 2 and helping.confirmed():
            write.relay(helper.relay_chunk)  # type: ignore[union-attr]
            continue
        for data, rows in encoded_chunk(source, table, rowid, chunk):
            write(data)
            count += rows
    return count


def _write_json(source: Connection, write: Callable[[bytes], None]) -> int:
    entries = plan.read_entries(source)
    pragmas = plan.read_pragmas(source)
    head = {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "backend": "sqlite",
        "pragmas": {
            "user_version": pragmas.user_version,
            "application_id": pragmas.application_id,
            "encoding": pragmas.encoding,
        },
        "schema": [
            {"type": e.type, "name": e.name, "tbl_name": e.tbl_name, "sql": e.sql} for e in entries
        ],
    }
    write(json_bytes(json.dumps(head)[:-1] + ', "tables": [\n'))
    count = 0
    for number, table in enumerate(plan.read_tables(source, entries)):
        about = {"name": table.name, "columns": list(table.columns), "load": table.load}
        write(json_bytes(("," if number else "") + json.dumps(about)[:-1] + ', "rows": [\n'))
        keys = json_keys(table.columns)
        first = True
        if table.load == "rows":
            for rows in plan.read_rows(source, table):
                # A raw newline only ever ends a record: strings escape theirs.
                lines = json_lines(keys, rows).rstrip("\n").replace("\n", ",\n")
                write(json_bytes(("" if first else ",\n") + lines))
                first = False
                count += len(rows)
        write(b"]}\n" if first else b"\n]}\n")
    write(b"]}\n")
    return count
