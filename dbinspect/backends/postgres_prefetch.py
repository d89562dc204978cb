"""Reads the first frame's outline of a PostgreSQL database in a child process.

Importing the driver (psycopg and libpq) costs about 0.1 s of CPU, and Python runs one
thread at a time: on a thread the import only takes turns with Textual's, and the first
frame waits for both. A child forked as the app launches imports the driver, connects
and reads the schemas, tables and views on the machine's other core meanwhile; it sends
the rows through a pipe and exits. The app opens its own connection after the first frame.

The rows cross as `marshal` data (plain ints, strings, booleans and None): the child is
this same program, and nothing else writes to the pipe.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import threading
from typing import TYPE_CHECKING, Any, NoReturn

from dbinspect.backends.postgres_catalog import read_relation_rows, relations_schema
from dbinspect.errors import ConnectError, DbInspectError, QueryError

if TYPE_CHECKING:
    from dbinspect.config import Settings
    from dbinspect.models import Schema
    from dbinspect.url import DatabaseUrl

_CONNECTED = b"C"
"""The child's first byte once it has connected (`marshal` data never starts with it);
its rows follow."""
_ERRORS: dict[str, type[DbInspectError]] = {"ConnectError": ConnectError, "QueryError": QueryError}
"""The errors the child reports as they would be raised in the app: one clear line."""


def outline_child(
    settings: Settings, *, migrate_on_launch: bool, read_only: bool
) -> OutlineChild | None:
    """On PostgreSQL, the child reading the first frame's outline; None elsewhere.

    Not when migrations will be applied on launch: the outline must come after them.
    """
    url = settings.url
    if url is None or url.backend != "postgres":
        return None
    if settings.migrations.explicit and migrate_on_launch and not read_only:
        return None
    return OutlineChild.start(url)


class OutlineChild:
    """A forked child reading the schemas, tables and views of one database."""

    def __init__(self, pid: int, reader: int) -> None:
        self._pid = pid
        self._reader = reader
        self._lock = threading.Lock()
        self._collecting = False
        self._reaped = False
        self._head = b""
        """What `connected` read ahead of the rows (the payload's start if not _CONNECTED)."""

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._pid

    @classmethod
    def start(cls, url: DatabaseUrl) -> OutlineChild | None:
        """Fork the child; None where that is not safe (no `os.fork`, threads running).

        Call it before anything starts a thread: a child forked beside other threads may
        inherit a lock one of them held.
        """
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return None
        reader, writer = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(reader)
            os.close(writer)
            return None
        if pid == 0:
            os.close(reader)
            _child(url, writer)
        os.close(writer)
        return cls(pid, reader)

    async def connected(self) -> bool:
        """Wait until the child has connected: True, or False when it ended without a
        word (the app then opens the database itself).

        Raises:
            ConnectError: The database cannot be opened (as `open_backend` says it).
        """
        import asyncio

        self._head = await asyncio.to_thread(self._read_head)
        if self._head == _CONNECTED:
            return True
        await self.schema()  # the child's error, raised; or None: it said nothing
        return False

    async def schema(self) -> Schema | None:
        """The outline, or None when the child could not tell (the app reads it itself).

        Raises:
            ConnectError: The database cannot be opened (as `open_backend` says it).
            QueryError: The catalog cannot be read.
        """
        import asyncio

        data = self._head + await asyncio.to_thread(self._collect)
        data = data.removeprefix(_CONNECTED)
        try:
            payload: Any = marshal.loads(data) if data else None
        except (EOFError, ValueError, TypeError):
            return None
        if not isinstance(payload, tuple) or not payload:
            return None
        if payload[0] == "rows":
            return relations_schema(payload[1], payload[2])
        if payload[0] == "error" and payload[1] in _ERRORS:
            raise _ERRORS[payload[1]](payload[2], payload[3])
        return None

    def _read_head(self) -> bytes:
        """The child's first byte: _CONNECTED, or the start of its only message."""
        with self._lock:
            if self._reaped:  # stopped first: its pipe is closed
                return b""
            self._collecting = True
        return os.read(self._reader, 1)

    def _collect(self) -> bytes:
        """Everything the child wrote (after `connected`'s byte), once it has exited
        (reaped here)."""
        with self._lock:
            if self._reaped:  # stopped first: its pipe is closed
                return b""
            self._collecting = True
        chunks: list[bytes] = []
        try:
            while chunk := os.read(self._reader, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(self._reader)
            with self._lock:
                os.waitpid(self._pid, 0)
                self._reaped = True
        return b"".join(chunks)

    def stop(self) -> None:
        """End the child if it is still reading (the app quit or failed first).

        Its pipe then ends, and `_collect`, if it runs, reaps it; if it never ran, the
        child is reaped here.
        """
        with self._lock:
            if self._reaped:
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            if not self._collecting:
                os.close(self._reader)
                os.waitpid(self._pid, 0)
                self._reaped = True


def _child(url: DatabaseUrl, writer: int) -> NoReturn:
    """The child's whole life: read, write the rows to `writer`, exit without cleanup.

    `os._exit` skips the parent's exit handlers and leaves its buffered output alone,
    which the child shares until it ends.
    """
    try:
        # Ctrl+C ends the child at once: the app handles its own.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        # The app's own start is what the user waits for: where the two share a core
        # (a busy machine), it goes first. Measured: the tree shows about 30 ms sooner.
        os.nice(5)
        import asyncio

        data = marshal.dumps(asyncio.run(_read(url, writer)))
    except BaseException:  # whatever failed, the app reads the outline itself
        data = b""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(writer, view) :]
    finally:
        os._exit(0)


async def _read(url: DatabaseUrl, writer: int) -> tuple[Any, ...]:
    """("rows", schemas, relations), or ("error", kind, message, hint).

    Only the driver is imported here: the rest of the backend (row browsing) is not
    needed for two queries, and on a busy machine every millisecond of the child's
    work is taken from the app's start.
    """
    from dbinspect import pg_driver

    try:
        conn = await pg_driver.connect_async(url, read_only=True, path="guarded")
    except ConnectError as error:
        return ("error", "ConnectError", error.message, error.hint)
    os.write(writer, _CONNECTED)  # the app may start: the rows follow
    try:
        schemas, relations = await read_relation_rows(conn)
    except pg_driver.Error as error:
        failed = pg_driver.catalog_error(url, error)
        return ("error", "QueryError", failed.message, failed.hint)
    finally:
        await conn.close()
    return ("rows", schemas, relations)
