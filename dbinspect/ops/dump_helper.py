"""Provides a second process that encodes every other chunk of a large table's rows for
the SQL dump, so that a dump uses two cores.

Encoding rows as SQL text is Python work (the GIL allows one thread of it at a time), and
it costs more than SQLite's reading: a second process halves it. The dump splits a
large rowid table into chunks of rowids; it encodes the even chunks and this helper the
odd ones, and writes them in order, so the file is the one the dump writes alone (only
read in rowid order).

Both must read the same snapshot of the database. The helper opens its own read
transaction; a third connection reads `PRAGMA data_version` before the dump's snapshot
was taken and again once the helper's is: when nothing was committed in between, both
snapshots are the same moment, and the helper is used. Otherwise (a database being
written to) the dump goes on alone, as it would without a helper.

The helper holds no file: it reads the database and answers on its standard output. When
the dump stops (an error, Ctrl+C, a kill), its end of the pipes closes and the helper
exits. Protocol, one JSON line in, frames out:

    in:  {"uri": ...}                                   out: b"ready\\n" (snapshot taken)
    in:  {"table", "columns", "rowid", "chunks": [[first, last], ...]}
    out: per chunk: 16 bytes (length, rows; little-endian) then the SQL text
    in:  EOF: exit
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO, NoReturn, cast

from dbinspect import sqlite_driver as driver
from dbinspect.errors import OperationError
from dbinspect.export.encode import file_bytes, sql_identifier
from dbinspect.ops import sqlite_dump as plan

SPLIT_ROWIDS = 200_000
"""A table whose rowids span at least this many is split between the two processes."""
CHUNK_ROWIDS = 50_000
"""Rowids per chunk (about 5 MB of SQL for the benchmark's rows): what either process
holds at most at a time."""
MAX_CHUNKS = 4096
_FRAME = struct.Struct("<QQ")

Chunk = tuple[int, int]


def split_rowids(conn: driver.Connection, table: plan.TableData) -> tuple[str, list[Chunk]] | None:
    """The rowid's name and the chunks of rowids of a large plain rowid table; None for
    any other table (small, WITHOUT ROWID, virtual, internal, or every rowid alias
    shadowed by a column)."""
    if table.name.startswith("sqlite_") or table.load != "rows":
        return None
    listed = conn.execute("SELECT type, wr FROM pragma_table_list(?)", (table.name,)).fetchone()
    if listed is None or listed[0] != "table" or listed[1]:
        return None
    names = {
        str(row[1]).lower()
        for row in conn.execute("SELECT * FROM pragma_table_xinfo(?)", (table.name,))
    }
    rowid = next((n for n in ("rowid", "_rowid_", "oid") if n not in names), None)
    if rowid is None:
        return None
    first, last = conn.execute(
        f"SELECT min({rowid}), max({rowid}) FROM {sql_identifier(table.name)}"
    ).fetchone()
    if first is None or last - first < SPLIT_ROWIDS:
        return None
    width = max(CHUNK_ROWIDS, (last - first) // MAX_CHUNKS + 1)
    return rowid, [(low, min(low + width - 1, last)) for low in range(first, last + 1, width)]


def encoded_chunk(
    conn: driver.Connection, table: plan.TableData, rowid: str, chunk: Chunk
) -> Iterator[tuple[bytes, int]]:
    """The SQL text of one chunk of rows, a batch at a time, and the rows in each."""
    prefix = plan.insert_prefix(table)
    for rows in plan.read_rows(conn, table, (rowid, *chunk)):
        yield file_bytes(plan.table_rows(prefix, rows)), len(rows)


class DumpHelper:
    """The dump's side of the helper process."""

    def __init__(self, process: subprocess.Popen[bytes], path: Path) -> None:
        self._process = process
        self._path = path
        self._error = ""
        self.rows = 0
        """The rows of the chunks relayed so far."""

    @classmethod
    def start(cls, uri: str, path: Path) -> DumpHelper | None:
        """Start the helper on `uri`; None when it cannot start."""
        try:
            process = subprocess.Popen(
                # -P: not the working folder first on the module path (a `dbinspect`
                # folder there would run instead)
                [sys.executable, "-P", "-m", "dbinspect.ops.dump_helper"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,  # unbuffered: `splice` reads the pipe itself, after the header
            )
        except OSError:
            return None
        helper = cls(process, path)
        helper._send({"uri": uri})
        return helper

    def ready(self) -> bool:
        """Wait until the helper holds its snapshot; False if it failed to."""
        assert self._process.stdout is not None
        return self._process.stdout.readline() == b"ready\n"

    def _send(self, message: dict[str, object]) -> None:
        assert self._process.stdin is not None
        data = memoryview(json.dumps(message).encode() + b"\n")
        while data:
            data = data[self._process.stdin.write(data) or 0 :]

    def ask(self, table: plan.TableData, rowid: str, chunks: list[Chunk]) -> None:
        """Ask for the SQL text of `chunks` of `table`, in order."""
        message = {"table": table.name, "columns": table.columns, "rowid": rowid}
        self._send(message | {"load": table.load, "chunks": chunks})

    def relay_chunk(self, out: BinaryIO) -> int:
        """Copy the next chunk's SQL text into `out` (flushed), the kernel moving it from
        the pipe (`splice`) where it can; count its rows in `rows`; the bytes copied.

        Raises:
            OperationError: The helper failed (its message is given).
        """
        pipe = cast("BinaryIO", self._process.stdout)
        head = b""
        while len(head) < _FRAME.size:
            more = pipe.read(_FRAME.size - len(head))
            if not more:
                self._failed()
            head += more
        size, rows = (int(value) for value in _FRAME.unpack(head))
        left = size
        while left:
            moved = _move(pipe, out, left)
            if not moved:
                self._failed()
            left -= moved
        self.rows += rows
        return size

    def _failed(self) -> NoReturn:
        self.close()
        lines = self._error.strip().splitlines()
        raise OperationError(f"cannot read {self._path}: {lines[-1] if lines else 'failed'}")

    def close(self) -> None:
        """End the helper (its input closed, then killed if it does not exit at once)."""
        for pipe in (self._process.stdin, self._process.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()  # the helper sees the end of its input, or a broken pipe
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stderr is not None:
            with self._process.stderr:
                self._error = self._process.stderr.read().decode(errors="replace")


def _move(pipe: BinaryIO, out: BinaryIO, most: int) -> int:
    """Up to `most` bytes from `pipe` to `out`: by `splice` (no copy through Python),
    else read and written; 0 at the end of the pipe."""
    if _can_splice:
        try:
            return int(os.splice(pipe.fileno(), out.fileno(), most))
        except OSError as error:
            if error.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise
            _no_splice()
    data = pipe.read(min(most, 1 << 20))
    out.write(data)
    return len(data)


_can_splice = hasattr(os, "splice")


def _no_splice() -> None:
    global _can_splice
    _can_splice = False


def _serve(source: IO[bytes], out: IO[bytes]) -> None:
    opening = json.loads(source.readline())
    conn = driver.connect(opening["uri"], uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()  # the snapshot
    out.write(b"ready\n")
    out.flush()
    while line := source.readline():
        asked = json.loads(line)
        table = plan.TableData(asked["table"], tuple(asked["columns"]), asked["load"])
        for first, last in asked["chunks"]:
            parts, count = [], 0
            for data, rows in encoded_chunk(conn, table, asked["rowid"], (first, last)):
                parts.append(data)
                count += rows
            body = b"".join(parts)
            out.write(_FRAME.pack(len(body), count))
            out.write(body)
            out.flush()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the dump, which ends this
    try:
        _serve(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        pass  # the dump stopped
    except Exception as error:  # told to the dump, which reports it in one line
        sys.stderr.write(f"{error}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
