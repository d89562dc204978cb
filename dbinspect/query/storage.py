"""Provides the per-database files the query console keeps: where they live, how they are written.

History and buffers live under `platformdirs.user_data_dir("dbinspect")` (on Linux
`~/.local/share/dbinspect`), or under `DBINSPECT_DATA_DIR` when it is set, one file per
database named by the SHA-256 of a key that identifies the database without a password.
Folders are made 0700 and files 0600: statements and buffers may hold data from the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import platformdirs

from dbinspect.errors import DbInspectError
from dbinspect.url import DatabaseUrl, without_password

DATA_DIR_VARIABLE = "DBINSPECT_DATA_DIR"
"""Environment variable that moves the data directory (history, buffers) elsewhere."""
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


class StorageError(DbInspectError):
    """A history or buffers file could not be written; what was kept stays in memory."""


def data_dir() -> Path:
    """The folder dbinspect keeps its own files in: `DBINSPECT_DATA_DIR`, else the user's."""
    override = os.environ.get(DATA_DIR_VARIABLE, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("dbinspect", appauthor=False))


def database_key(url: DatabaseUrl) -> str:
    """A stable text naming the database, never holding a password.

    SQLite: the file's resolved absolute path (`sqlite::memory:` for an in-memory one);
    PostgreSQL: the URL as given with its password left out.
    """
    if url.backend == "sqlite":
        if url.path is None:
            return "sqlite::memory:"
        return "sqlite:" + str(url.path.expanduser().resolve())
    return without_password(url.raw.strip())


def file_for(kind: str, key: str, suffix: str) -> Path:
    """The file of `kind` (`history`, `buffers`) for the database `key`."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return data_dir() / kind / f"{digest}{suffix}"


def ensure_folder(folder: Path) -> None:
    """Make `folder` (and the data directory above it) 0700 where they are created here."""
    for part in (folder.parent, folder):
        try:
            part.mkdir(mode=0o700, parents=True)
        except FileExistsError:
            continue
        part.chmod(0o700)  # mkdir's mode is reduced by the umask


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` all at once, the new file 0600.

    A temporary file beside it (created exclusively, so never through a planted symlink)
    is written, flushed to disk and renamed over `path`; a reader sees the old file or
    the new one, never half of either.

    Raises:
        OSError: The folder cannot be written.
    """
    ensure_folder(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)  # replaces a symlink at `path` itself, never its target
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def append(path: Path, data: bytes) -> None:
    """Append `data` to `path` in one write, creating it 0600 (never through a symlink).

    Raises:
        OSError: The file or its folder cannot be written.
    """
    ensure_folder(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NOFOLLOW | _BINARY
    fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def storage_error(what: str, path: Path, error: OSError) -> StorageError:
    """The one-line error the UI shows when `what` could not be saved to `path`."""
    reason = error.strerror or type(error).__name__
    return StorageError(
        f"{what} could not be saved to {path.parent}: {reason}",
        f"it is kept until dbinspect closes; set {DATA_DIR_VARIABLE} to a writable folder",
    )
