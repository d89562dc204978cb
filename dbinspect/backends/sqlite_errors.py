"""Turns SQLite driver errors into the one-line messages users see.

Errors are told apart by SQLite's result code, never by words in the message: messages
quote user names ("no such table: locked_jobs"), so words would misread them.
"""

from __future__ import annotations

from pathlib import Path

from dbinspect import sqlite_driver as driver
from dbinspect.errors import PassingError, QueryError

_HOT_JOURNAL_CODES = frozenset(
    {
        driver.SQLITE_READONLY | (1 << 8),  # SQLITE_READONLY_RECOVERY: a WAL to recover
        driver.SQLITE_READONLY | (3 << 8),  # SQLITE_READONLY_ROLLBACK: a hot journal
        driver.SQLITE_READONLY | (5 << 8),  # SQLITE_READONLY_CANTINIT: no -shm to build
    }
)


def _has_journal(path: Path | str) -> bool:
    """A non-empty rollback journal beside the file: what a killed writer leaves."""
    try:
        return Path(f"{path}-journal").stat().st_size > 0
    except OSError:
        return False


def is_busy(error: BaseException) -> bool:
    """Whether SQLite refused for another connection's lock (SQLITE_BUSY or _LOCKED)."""
    return driver.primary_code(error) in (driver.SQLITE_BUSY, driver.SQLITE_LOCKED)


def is_read_only(error: BaseException) -> bool:
    """Whether SQLite refused a write because the database is read-only to this process."""
    return driver.primary_code(error) == driver.SQLITE_READONLY


def translate_error(error: driver.Error, path: Path | str, sql: str = "") -> QueryError:
    """Turn a driver error into the one user-facing message it deserves."""
    text = str(error)
    code = driver.primary_code(error)
    extended = getattr(error, "sqlite_errorcode", None)
    if code in (driver.SQLITE_BUSY, driver.SQLITE_LOCKED):
        return PassingError(
            f"{path}: database is locked by another process", sql, "try again when it is done"
        )
    if code in (driver.SQLITE_CORRUPT, driver.SQLITE_NOTADB):
        return QueryError(
            f"{path}: database is corrupt ({text})",
            sql,
            f"see what is damaged with: sqlite3 {path} 'PRAGMA integrity_check'",
        )
    if extended in _HOT_JOURNAL_CODES or (code == driver.SQLITE_READONLY and _has_journal(path)):
        # A read-only connection met a hot journal (or WAL) that only a writer can recover.
        return QueryError(
            f"{path}: a process stopped mid-transaction and left a journal to roll back",
            sql,
            "open the database once with write access (e.g. sqlite3) to recover it",
        )
    if code == driver.SQLITE_READONLY:
        return QueryError(
            f"{path}: the database is read-only ({text})",
            sql,
            "check the file's and its folder's permissions, or the URL's mode=ro",
        )
    return QueryError(f"{path}: {text}", sql)
