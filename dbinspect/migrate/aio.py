"""The migration commands for asyncio code (the app): each runs on a worker thread.

A migration's work is synchronous (`dbinspect.migrate.runner`); here it runs on the
event loop's default executor while the loop stays free. Cancelling the awaiting task
interrupts the running statement, waits for its rollback, then raises CancelledError,
and events reach `on_event` on the loop's thread, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import TypeVar

from dbinspect.config import SqlxSettings
from dbinspect.migrate import runner
from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker
from dbinspect.migrate.records import (
    InvalidIndex,
    MigrationEvent,
    MigrationResult,
    MigrationStatus,
)
from dbinspect.migrate.runner import EventHandler
from dbinspect.migrate.source import DEFAULT_SETTINGS
from dbinspect.url import DatabaseUrl

T = TypeVar("T")


async def _on_worker(work: Callable[[Cancellation], T]) -> T:
    """Run `work` on a worker thread; cancelling the caller cancels the work."""
    cancellation = Cancellation()
    future = asyncio.get_running_loop().run_in_executor(None, work, cancellation)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        # The thread goes on by itself: stop its statement and wait for the rollback
        # (ignoring further cancels) before giving up.
        cancellation.cancel()
        while not future.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({future})
        if not future.cancelled():
            future.exception()  # retrieved: it is the interruption we asked for
        raise
    except CancelledInWorker as error:  # pragma: no cover - only after our own cancel
        raise asyncio.CancelledError from error


def _to_loop(on_event: EventHandler | None) -> EventHandler | None:
    """`on_event`, called on the running loop's thread instead of the worker's."""
    if on_event is None:
        return None
    loop = asyncio.get_running_loop()

    def post(event: MigrationEvent) -> None:
        loop.call_soon_threadsafe(on_event, event)

    return post


async def migration_status(
    url: DatabaseUrl, folder: Path, settings: SqlxSettings = DEFAULT_SETTINGS
) -> list[MigrationStatus]:
    """See `runner.migration_status`."""
    return await _on_worker(lambda _: runner.migration_status(url, folder, settings))


async def run_migrations(
    url: DatabaseUrl,
    folder: Path,
    settings: SqlxSettings = DEFAULT_SETTINGS,
    *,
    target_version: int | None = None,
    dry_run: bool = False,
    ignore_missing: bool = False,
    on_event: EventHandler | None = None,
    expected_versions: Sequence[int] | None = None,
) -> list[MigrationResult]:
    """See `runner.run_migrations`; cancelling the task rolls the running migration back."""
    work = partial(
        runner.run_migrations,
        url,
        folder,
        settings,
        target_version=target_version,
        dry_run=dry_run,
        ignore_missing=ignore_missing,
        on_event=_to_loop(on_event),
        expected_versions=expected_versions,
    )
    return await _on_worker(lambda cancellation: work(cancellation=cancellation))


async def revert_migrations(
    url: DatabaseUrl,
    folder: Path,
    settings: SqlxSettings = DEFAULT_SETTINGS,
    *,
    target_version: int | None = None,
    dry_run: bool = False,
    on_event: EventHandler | None = None,
    expected_versions: Sequence[int] | None = None,
) -> list[MigrationResult]:
    """See `runner.revert_migrations`; cancelling the task rolls the running one back."""
    work = partial(
        runner.revert_migrations,
        url,
        folder,
        settings,
        target_version=target_version,
        dry_run=dry_run,
        on_event=_to_loop(on_event),
        expected_versions=expected_versions,
    )
    return await _on_worker(lambda cancellation: work(cancellation=cancellation))


async def restamp_migration(
    url: DatabaseUrl, folder: Path, settings: SqlxSettings, version: int
) -> tuple[bytes, bytes]:
    """See `runner.restamp_migration`."""
    return await _on_worker(lambda _: runner.restamp_migration(url, folder, settings, version))


async def invalid_indexes(url: DatabaseUrl) -> list[InvalidIndex]:
    """See `runner.invalid_indexes`."""
    return await _on_worker(lambda _: runner.invalid_indexes(url))
