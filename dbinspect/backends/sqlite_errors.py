"""Turns SQLite driver errors into the one-line messages users see."""

from __future__ import annotations

from pathlib import Path

from dbinspect import sqlite_driver as driver
from dbinspect.errors import QueryError


def translate_error(error: driver.Error, path: Path | str, sql: str = "") -> QueryError:
    """Turn a driver error into the one user-facing message it deserves."""
    text = str(error)
    if "locked" in text or "busy" in text:
        return QueryError(
            f"{path}: database is locked by another process", sql, "try again when it is done"
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return QueryError(
            f"{path}: database is corrupt ({text})",
            sql,
            f"see what is damaged with: sqlite3 {path} 'PRAGMA integrity_check'",
        )
    if "readonly database" in text:
        # A read-only connection met a hot journal (or WAL) that only a writer can recover.
        return QueryError(
            f"{path}: a process stopped mid-transaction and left a journal to roll back",
            sql,
            "open the database once with write access (e.g. sqlite3) to recover it",
        )
    return QueryError(f"{path}: {text}", sql)
