"""Checks a path before SQLite touches it, and builds the URI that opens it read-only.

SQLite itself would create a missing file, read a FIFO forever, or treat a zero-byte
file as an empty database; each of those must be a clear error instead.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import NamedTuple

from dbinspect.errors import ConnectError

SQLITE_HEADER = b"SQLite format 3\x00"


def check_database_file(path: Path) -> Path:
    """Return the resolved path of an existing, readable SQLite file.

    Raises:
        ConnectError: The path is missing, not a regular file, empty, unreadable,
            or does not start with the SQLite header.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ConnectError(
            f"{path}: no such database file",
            "check the path, or pass --create to make a new database",
        ) from None
    except PermissionError:
        raise ConnectError(f"{path}: permission denied") from None
    except OSError as error:
        raise ConnectError(f"{path}: cannot open: {error.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConnectError(f"{path}: is a directory, not a database file")
    if not stat.S_ISREG(info.st_mode):
        raise ConnectError(f"{path}: is not a regular file (a FIFO, socket or device)")
    if info.st_size == 0:
        raise ConnectError(f"{path}: is an empty file, not a SQLite database")
    try:
        # O_NONBLOCK: a path swapped for a FIFO after stat() must not hang the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except PermissionError:
        raise ConnectError(f"{path}: permission denied") from None
    except OSError as error:
        raise ConnectError(f"{path}: cannot open: {error.strerror}") from None
    try:
        header = os.read(fd, 100)
    finally:
        os.close(fd)
    if not header.startswith(SQLITE_HEADER):
        raise ConnectError(f"{path}: not a SQLite database (the file header does not match)")
    if len(header) < 100:
        raise ConnectError(f"{path}: truncated SQLite file (shorter than its 100-byte header)")
    return path.resolve()


def is_wal_mode(path: Path) -> bool:
    """Whether the file's header says it is in WAL mode (read/write versions 2)."""
    with path.open("rb") as handle:
        header = handle.read(20)
    return len(header) == 20 and header[18] == 2 and header[19] == 2


def choose_open_strategy(path: Path) -> str:
    """How to open `path` for reading without creating or changing any file beside it.

    A read-only connection to a WAL database creates `-wal` and `-shm` when they are
    missing and cannot remove them afterwards, which would change the user's directory:
    - `ro`: a rollback-journal database, or a WAL database in use (both files present);
    - `immutable`: a WAL database with nothing pending (no `-wal`, or an empty one);
    - `copy`: committed rows sit in a `-wal` with no `-shm`; read a private copy.
    """
    if not is_wal_mode(path):
        return "ro"
    wal = Path(f"{path}-wal")
    shm = Path(f"{path}-shm")
    if wal.exists() and shm.exists():
        return "ro"
    if not wal.exists() or wal.stat().st_size == 0:
        return "immutable"
    return "copy"


def read_only_uri(path: Path, *, immutable: bool = False) -> str:
    """A `file:` URI that opens `path` read-only, built without string formatting of paths."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    return f"{uri}&immutable=1" if immutable else uri


def write_access_problem(path: Path | None, mode: str | None) -> str | None:
    """Why this process cannot write the database at `path`, or None when it can.

    Decided up front, so the app can turn its write actions off and say why, instead of
    failing half way through one. (Root passes the permission checks, as SQLite does.)
    """
    if mode == "ro":
        return "the URL says mode=ro"
    if path is None or not path.exists():
        return None
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "it is on a read-only file system"
    except OSError:
        pass
    if not os.access(path, os.W_OK):
        return "the file is not writable by you"
    folder = path.resolve().parent
    if not os.access(folder, os.W_OK | os.X_OK):
        # SQLite creates its journal (or -wal and -shm) beside the file.
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        in_use_wal = wal.exists() and shm.exists() and os.access(wal, os.W_OK)
        if not (is_wal_mode(path) and in_use_wal and os.access(shm, os.W_OK)):
            return "its folder, where SQLite writes its journal, is not writable by you"
    return None


COPY_LIMIT_BYTES = 1 << 30
"""The largest database (with its `-wal`) copied to read a WAL that has no `-shm`."""

FileSignature = tuple[int, int, bool, bool]
"""Size and mtime of the file, and whether `-wal` and `-shm` exist: what moves on a write."""


def read_signature(path: Path) -> FileSignature:
    """The file's `FileSignature` now."""
    try:
        info = path.stat()
        size, mtime = info.st_size, info.st_mtime_ns
    except OSError:
        size, mtime = -1, -1
    return (size, mtime, Path(f"{path}-wal").exists(), Path(f"{path}-shm").exists())


class ReadOnlyOpen(NamedTuple):
    """How one inspection connection opens a file, decided by `plan_read_only_open`."""

    uri: str
    strategy: str
    """`ro`, `immutable` or `copy` (see `choose_open_strategy`)."""
    signature: FileSignature
    """The file as it was when planned: an immutable open is stale once this moves."""
    snapshot_dir: Path | None = None
    """The private copy's folder (strategy `copy`), removed when the connection closes."""


def plan_read_only_open(path: Path, *, copy_limit: int = COPY_LIMIT_BYTES) -> ReadOnlyOpen:
    """Decide how to open `path` read-only: every reading connection opens this way.

    An `immutable` open is only valid while nothing writes the file: the reader must call
    `read_signature` before it reads and open again through this function when it moved.

    Raises:
        ConnectError: A private copy is needed but the file is over `copy_limit`, or the
            copy fails (a full temp folder); nothing is left behind.
    """
    signature = read_signature(path)
    strategy = choose_open_strategy(path)
    if strategy != "copy":
        return ReadOnlyOpen(
            read_only_uri(path, immutable=strategy == "immutable"), strategy, signature
        )
    wal = Path(f"{path}-wal")
    size = path.stat().st_size + wal.stat().st_size
    hint = (
        "fold the -wal into the file once with write access: "
        f"sqlite3 {path} 'PRAGMA wal_checkpoint'"
    )
    if size > copy_limit:
        raise ConnectError(
            f"{path}: committed data waits in its -wal with no -shm (left by a crash); reading "
            f"it needs a private copy of {size:,} bytes, over the {copy_limit:,}-byte limit",
            hint,
        )
    folder = Path(tempfile.mkdtemp(prefix="dbinspect-"))
    copy = folder / path.name
    try:
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, f"{copy}-wal")
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise ConnectError(
            f"{path}: cannot make the private copy its -wal needs: {error.strerror}", hint
        ) from None
    return ReadOnlyOpen(read_only_uri(copy), "copy", signature, folder)


def create_empty_database(path: Path) -> None:
    """Create an empty SQLite file, as sqlx's `create_if_missing` does."""
    from dbinspect import sqlite_driver as driver

    conn = driver.connect(path)
    try:
        # Writing a header field makes SQLite write page 1, so the file is a database.
        conn.execute("PRAGMA user_version = 0")
        conn.commit()
    finally:
        conn.close()
