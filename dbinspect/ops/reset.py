"""Provides `reset`: back up, drop every object, apply the migrations again.

The backup is `backup`'s own (`ops.backup.run_backup`), taken before anything is dropped;
a failed backup stops the reset with the database untouched.

SQLite: every table, view, index and trigger of the file goes (the tracking table
included), and `sqlite_sequence` is emptied. PostgreSQL (`reset_postgres`): what the
migrations create (their schemas, `public`'s objects when they create some there, their
extensions) and the tracking table.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_names import quote_identifier as q
from dbinspect.config import Settings
from dbinspect.errors import OperationError
from dbinspect.migrate.records import MigrationResult
from dbinspect.url import DatabaseUrl


class ResetResult(NamedTuple):
    """What `reset` did."""

    backup: Path
    dropped: tuple[str, ...]
    """`kind name` of each object dropped."""
    applied: tuple[MigrationResult, ...]


def reset_database(url: DatabaseUrl, settings: Settings, *, force: bool) -> ResetResult:
    """Back up the database, drop its objects, and apply every migration again.

    Raises:
        OperationError: Without `force`; no migrations folder; the backup failed.
        MigrationError: A migration failed (the backup holds the database as it was).
    """
    folder = settings.migrations.path
    if url.backend == "sqlite" and url.path is None:
        raise OperationError("reset needs a database file, not an in-memory database")
    if not force:
        raise OperationError(
            f"reset drops every object of {url.masked} and applies the migrations again",
            "pass --force to do it (a backup is taken first)",
        )
    if not folder.is_dir():
        raise OperationError(f"no migrations folder at {folder}", "pass --source DIR")
    from dbinspect.migrate.source import load_migrations
    from dbinspect.ops.backup import run_backup

    load_migrations(folder, settings.sqlx)  # a broken folder is refused before anything
    if url.backend == "postgres":
        from dbinspect.ops.reset_postgres import reset_postgres

        backup, dropped = reset_postgres(url, settings, folder)
    else:
        backup = run_backup(url, None, None).path
        dropped = _drop_sqlite_objects(url)
    from dbinspect.migrate.runner import run_migrations

    applied = run_migrations(url, folder, settings.sqlx)
    return ResetResult(backup, tuple(dropped), tuple(applied))


def _drop_sqlite_objects(url: DatabaseUrl) -> list[str]:
    """Drop every object of the file in one transaction; returns what was dropped."""
    assert url.path is not None
    conn = driver.connect(url.path, isolation_level=None, timeout=5.0)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")  # dropping a parent must not cascade
        conn.execute("BEGIN IMMEDIATE")
        objects = conn.execute(
            "SELECT type, name FROM sqlite_schema "
            "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND type IN ('view', 'trigger', 'table') "
            "ORDER BY CASE type WHEN 'view' THEN 0 WHEN 'trigger' THEN 1 ELSE 2 END"
        ).fetchall()
        shadow = {
            str(r[0])
            for r in conn.execute("SELECT name FROM pragma_table_list WHERE type = 'shadow'")
        }
        dropped = []
        for kind, name in objects:
            if name in shadow:
                continue  # goes with its virtual table
            conn.execute(f"DROP {kind.upper()} IF EXISTS {q(name)}")
            dropped.append(f"{kind} {name}")
        has_sequence = conn.execute(
            "SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'"
        ).fetchone()
        if has_sequence:
            conn.execute("DELETE FROM sqlite_sequence")
        conn.execute("COMMIT")
        conn.execute("VACUUM")  # the dropped rows' pages are not left behind in the file
    except driver.Error as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise OperationError(f"cannot drop the objects of {url.path}: {error}") from error
    finally:
        conn.close()
    return dropped
