"""Starts the app: applies launch migrations, opens the backend, runs one event loop."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

from dbinspect.backends import open_backend
from dbinspect.config import Settings
from dbinspect.errors import ConfigError, DbInspectError
from dbinspect.migrate import run_migrations
from dbinspect.tui.outcome import LaunchOutcome
from dbinspect.url import DatabaseUrl

log = logging.getLogger("dbinspect.tui")


def launch(
    settings: Settings,
    *,
    migrate_on_launch: bool = True,
    read_only: bool = False,
    create: bool = False,
) -> None:
    """Open the terminal app on `settings.url` and return when the user quits.

    Raises:
        DbInspectError: The database cannot be opened (raised before the app starts).
    """
    asyncio.run(run_app(settings, migrate_on_launch, read_only, create))


def _create_database(path: Path) -> None:
    """Create an empty SQLite file, as sqlx's `create_if_missing` does."""
    conn = sqlite3.connect(path)
    try:
        # Writing a header field makes SQLite write page 1, so the file is a database.
        conn.execute("PRAGMA user_version = 0")
        conn.commit()
    finally:
        conn.close()


async def apply_launch_migrations(settings: Settings, url: DatabaseUrl) -> LaunchOutcome:
    """Apply every pending migration of the explicitly configured folder."""
    try:
        applied = await run_migrations(url, settings.migrations.path, settings.sqlx)
    except DbInspectError as error:
        log.error("migrations on launch failed for %s: %s", url.masked, error.one_line())
        if url.path is not None and not url.path.exists():
            raise
        return LaunchOutcome(error=error)
    return LaunchOutcome(applied=tuple(applied))


async def run_app(
    settings: Settings, migrate_on_launch: bool, read_only: bool, create: bool
) -> None:
    """The body of `launch`, on the one event loop."""
    url = settings.url
    if url is None:
        raise ConfigError("no database given", "pass a path or set DATABASE_URL")
    if read_only:
        if create:
            raise ConfigError("--create and --read-only cannot be used together")
        url = DatabaseUrl(url.backend, url.path, "ro" if url.path else url.mode, url.raw)
    outcome: LaunchOutcome | None = None
    if settings.migrations.explicit and migrate_on_launch and not read_only:
        outcome = await apply_launch_migrations(settings, url)
    elif create and url.path is not None and not url.path.exists():
        await asyncio.to_thread(_create_database, url.path)
    backend = await open_backend(url)
    # Textual is imported only once the database is known to open.
    from dbinspect.tui.app import DbInspectApp
    from dbinspect.tui.session import Session

    session = Session(settings, url, backend, read_only=read_only, outcome=outcome)
    try:
        await DbInspectApp(session).run_async()
    finally:
        # The app may have reopened the database; close whichever connection is current.
        await session.backend.aclose()
