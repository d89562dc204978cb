"""Starts the app: applies launch migrations, opens the backend, runs one event loop."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
from types import ModuleType
from typing import TYPE_CHECKING

from dbinspect import migrate  # the engine loads on first use, after the first frame
from dbinspect.backends import Backend, open_backend
from dbinspect.backends.sqlite_files import create_empty_database, write_access_problem
from dbinspect.config import Settings
from dbinspect.connections import ConnectionOwner
from dbinspect.errors import ConfigError, DbInspectError
from dbinspect.models import Schema
from dbinspect.tui.outcome import LaunchOutcome
from dbinspect.url import DatabaseUrl

if TYPE_CHECKING:
    from dbinspect.backends.postgres_prefetch import OutlineChild

log = logging.getLogger("dbinspect.tui")
APP_MODULE = "dbinspect.tui.app"


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
    # The CLI runs without the cyclic collector; the app turns it on after its first
    # frame (`collect_from_now`): importing Textual and building the screen allocate
    # hundreds of thousands of objects, and collecting among them slows the first frame.
    # On PostgreSQL a child reads the first outline while the app imports Textual. It is
    # forked here, once asyncio and the models are imported: it need not import them
    # again (on a busy machine its every millisecond is taken from the app's start).
    child: OutlineChild | None = None
    if settings.url is not None and settings.url.backend == "postgres":
        from dbinspect.backends.postgres_prefetch import outline_child

        child = outline_child(settings, migrate_on_launch=migrate_on_launch, read_only=read_only)
    try:
        code = asyncio.run(run_app(settings, migrate_on_launch, read_only, create, child))
    finally:
        if child is not None:
            child.stop()
    if code:
        # The app stopped on an error (Textual showed it): the process must say so too.
        raise SystemExit(code)


def collect_from_now() -> None:
    """Turn the cyclic collector on, with what start-up built set aside.

    Modules, classes and the screen live as long as the app: frozen, they are not
    walked again by every full collection.
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def _import_app() -> ModuleType:
    """Import the app (Textual and every pane) off the event loop's thread."""
    return importlib.import_module(APP_MODULE)


async def apply_launch_migrations(settings: Settings, url: DatabaseUrl) -> LaunchOutcome:
    """Apply every pending migration of the explicitly configured folder."""
    try:
        applied = await migrate.run_migrations(url, settings.migrations.path, settings.sqlx)
    except DbInspectError as error:
        log.error("migrations on launch failed for %s: %s", url.masked, error.one_line())
        if url.path is not None and not url.path.exists():
            raise
        return LaunchOutcome(error=error)
    return LaunchOutcome(applied=tuple(applied))


async def first_outline(backend: Backend) -> Schema:
    """The quickest list of objects: from the file's pages if possible, else from SQLite."""
    quick = await backend.quick_outline()
    return quick if quick is not None else await backend.outline()


async def child_outline(child: OutlineChild, owner: ConnectionOwner) -> Schema:
    """The child's outline; read on the app's own connection if the child ended without it.

    Raises:
        QueryError: The catalog cannot be read.
    """
    schema = await child.schema()
    if schema is None:
        return await first_outline(await owner.get("panes"))
    return schema


async def run_app(
    settings: Settings,
    migrate_on_launch: bool,
    read_only: bool,
    create: bool,
    child: OutlineChild | None = None,
) -> int:
    """The body of `launch`, on the one event loop.

    `child`: the outline being read in a child process (PostgreSQL). When it brings the
    outline, the app opens its own connection after the first frame: the driver's import
    then stays out of the way of Textual's.
    """
    url = settings.url
    if url is None:
        raise ConfigError("no database given", "pass a path or set DATABASE_URL")
    read_only_reason = "opened with --read-only" if read_only else None
    if read_only:
        if create:
            raise ConfigError("--create and --read-only cannot be used together")
        url = DatabaseUrl(url.backend, url.path, "ro" if url.path else url.mode, url.raw)
    else:
        read_only_reason = await asyncio.to_thread(write_access_problem, url.path, url.mode)
    outcome: LaunchOutcome | None = None
    if settings.migrations.explicit and migrate_on_launch and read_only_reason is None:
        outcome = await apply_launch_migrations(settings, url)
    elif settings.migrations.explicit and migrate_on_launch and not read_only:
        outcome = LaunchOutcome(skipped=f"the database is read-only: {read_only_reason}")
    elif create and url.path is not None and not url.path.exists():
        await asyncio.to_thread(create_empty_database, url.path)
    # Import Textual on a thread while SQLite opens the file and lists its objects (or
    # while the child reads PostgreSQL's): on a large schema both take a few hundred
    # milliseconds, and they need not wait for each other.
    importing = asyncio.ensure_future(asyncio.to_thread(_import_app))
    backend: Backend | None = None
    try:
        # A connection refused is one line on stderr, before the app starts, as when the
        # app opens the database itself; the child's rows may come while it starts.
        if child is None or not await child.connected():
            # No probe: SQLite's first query parses the whole schema (over a second on
            # 20,000 tables); the names come from the file's pages first, and SQLite follows.
            backend = await open_backend(
                url, probe=False, extensions=settings.extensions.inspection
            )
    except BaseException:
        await asyncio.gather(importing, return_exceptions=True)
        raise
    owner = ConnectionOwner(url, settings.extensions.inspection, panes=backend)
    if backend is not None:
        outline = asyncio.ensure_future(first_outline(backend))
    else:
        assert child is not None  # it connected: its rows follow
        outline = asyncio.ensure_future(child_outline(child, owner))
    try:
        app_module = await importing
        session = app_module.Session(
            settings,
            url,
            owner,
            read_only_reason=read_only_reason,
            outcome=outcome,
            outline=outline,
            on_first_frame=collect_from_now,
        )
        app = app_module.DbInspectApp(session)
        await app.run_async()
        return int(app.return_code or 0)
    finally:
        if not outline.done():
            outline.cancel()
            if child is not None:
                child.stop()  # its reading thread would otherwise wait for it to finish
        await asyncio.gather(outline, return_exceptions=True)
        # The app may have reopened the database: its owner closes whatever is open now.
        await owner.aclose()
