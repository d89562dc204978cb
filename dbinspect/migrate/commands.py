"""Plain async commands the CLI and the app call: status, run, revert, restamp, add."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from dbinspect.config import SqlxSettings
from dbinspect.errors import ConfigError, MigrationError
from dbinspect.migrate import migrator
from dbinspect.migrate.records import Migration, MigrationEvent, MigrationResult, MigrationStatus
from dbinspect.migrate.source import DEFAULT_SETTINGS, load_migrations
from dbinspect.migrate.sqlite_store import SqliteStore
from dbinspect.migrate.statements import Statement
from dbinspect.url import DatabaseUrl

log = logging.getLogger("dbinspect.migrate")
EventHandler = Callable[[MigrationEvent], None]


def _sqlite_only(url: DatabaseUrl) -> None:
    if url.backend != "sqlite":
        raise ConfigError(
            f"migrations on {url.backend} are not supported yet: {url.masked}",
            "use a sqlite: URL",
        )


async def migration_status(
    url: DatabaseUrl, folder: Path, settings: SqlxSettings = DEFAULT_SETTINGS
) -> list[MigrationStatus]:
    """Every migration's status; never creates the database file or the tracking table.

    A database file that does not exist yet reports every migration as pending.
    """
    _sqlite_only(url)
    migrations = load_migrations(folder, settings)
    if url.path is not None and not url.path.exists():
        return migrator.statuses(migrations, [])
    read_only = DatabaseUrl(url.backend, url.path, "ro" if url.path else url.mode, url.raw)
    store = await SqliteStore.open(read_only, settings.table_name, create=False)
    try:
        applied = await store.list_applied()
    finally:
        await store.close()
    return migrator.statuses(migrations, applied)


def _emit(on_event: EventHandler | None, event: MigrationEvent) -> None:
    if on_event is not None:
        on_event(event)


async def _execute_plan(
    store: SqliteStore,
    plan: list[Migration],
    direction: Literal["up", "down"],
    dry_run: bool,
    on_event: EventHandler | None,
) -> list[MigrationResult]:
    down = direction == "down"
    prepared = {m.version: migrator.prepare(m, down=down) for m in plan}  # refuse up front
    position = {m.version: index for index, m in enumerate(plan)}
    results: list[MigrationResult] = []
    total = len(plan)

    def started(migration: Migration) -> None:
        version, description = migration.version, migration.description
        for warning in prepared[version].warnings:
            log.warning("%s", warning)
            _emit(
                on_event,
                MigrationEvent(
                    "warning", version, description, position[version], total, message=warning
                ),
            )
        if not dry_run:
            _emit(
                on_event, MigrationEvent("started", version, description, position[version], total)
            )

    def finished(migration: Migration, elapsed: int | None) -> None:
        version, description = migration.version, migration.description
        if elapsed is None:
            # Another runner applied (or reverted) it between our read and our lock.
            log.info("skipped %s/%s %s: done by another process", version, direction, description)
            return
        if not dry_run:
            verb = "reverted" if down else "applied"
            log.info("%s %s %s (%.3f ms)", verb, version, description, elapsed / 1e6)
            _emit(
                on_event,
                MigrationEvent(
                    "finished", version, description, position[version], total, duration_ns=elapsed
                ),
            )
        results.append(
            MigrationResult(version, description, direction, elapsed, prepared[version].warnings)
        )

    if dry_run:
        for migration in plan:
            started(migration)
            finished(migration, 0)
        return results
    # Consecutive transactional migrations go to the connection's thread together: one
    # round trip instead of one per migration. A -- no-transaction file runs on its own.
    batch: list[tuple[Migration, list[Statement]]] = []
    for migration in plan:
        no_tx = migration.down_no_transaction if down else migration.no_transaction
        if not no_tx:
            batch.append((migration, prepared[migration.version].statements))
            continue
        await _run_batch(store, batch, down, started, finished)
        started(migration)
        statements = prepared[migration.version].statements
        finished(migration, await store.apply(migration, statements, down=down))
    await _run_batch(store, batch, down, started, finished)
    return results


async def _run_batch(
    store: SqliteStore,
    batch: list[tuple[Migration, list[Statement]]],
    down: bool,
    started: Callable[[Migration], None],
    finished: Callable[[Migration, int | None], None],
) -> None:
    if batch:
        items = list(batch)
        batch.clear()
        await store.apply_batch(items, down=down, on_started=started, on_finished=finished)


async def run_migrations(
    url: DatabaseUrl,
    folder: Path,
    settings: SqlxSettings = DEFAULT_SETTINGS,
    *,
    target_version: int | None = None,
    dry_run: bool = False,
    ignore_missing: bool = False,
    on_event: EventHandler | None = None,
) -> list[MigrationResult]:
    """Apply pending migrations in version order, each in its own transaction.

    Creates the database file when missing (not on a dry run). Cancelling the awaiting
    task interrupts the running statement and rolls its migration back.

    Returns:
        One result per migration this call applied (or would apply, on a dry run).

    Raises:
        MigrationSourceError, DirtyDatabaseError, MissingMigrationError,
        ChecksumMismatchError, MigrationFailedError, MigrationError.
    """
    _sqlite_only(url)
    migrations = load_migrations(folder, settings)
    if dry_run:
        status_list = await migration_status(url, folder, settings)
        applied = [s.applied for s in status_list if s.applied is not None]
        migrator.validate(status_list, ignore_missing=ignore_missing)
        plan = migrator.plan_run(status_list, applied, target_version)
        for m in plan:
            migrator.prepare(m)
        return [
            MigrationResult(m.version, m.description, "up", 0, migrator.prepare(m).warnings)
            for m in plan
        ]
    store = await SqliteStore.open(url, settings.table_name, create=True)
    try:
        await store.ensure_table()
        applied = await store.list_applied()
        status_list = migrator.statuses(migrations, applied)
        migrator.validate(status_list, ignore_missing=ignore_missing)
        plan = migrator.plan_run(status_list, applied, target_version)
        return await _execute_plan(store, plan, "up", False, on_event)
    finally:
        await store.flush_execution_time()
        await store.close()


async def revert_migrations(
    url: DatabaseUrl,
    folder: Path,
    settings: SqlxSettings = DEFAULT_SETTINGS,
    *,
    target_version: int | None = None,
    dry_run: bool = False,
    on_event: EventHandler | None = None,
) -> list[MigrationResult]:
    """Revert the newest applied reversible migration, or all of them above `target_version`.

    `target_version=0` reverts every reversible migration. Each down file runs in its own
    transaction with the deletion of its tracking row.

    Raises:
        The same refusals as `run_migrations`, and MigrationError for a missing down file.
    """
    _sqlite_only(url)
    status_list = await migration_status(url, folder, settings)
    applied = [s.applied for s in status_list if s.applied is not None]
    migrator.validate(status_list)
    plan = migrator.plan_revert(status_list, applied, target_version)
    if dry_run or not plan:
        return [
            MigrationResult(
                m.version, m.description, "down", 0, migrator.prepare(m, down=True).warnings
            )
            for m in plan
        ]
    store = await SqliteStore.open(url, settings.table_name, create=False)
    try:
        return await _execute_plan(store, plan, "down", False, on_event)
    finally:
        await store.close()


async def restamp_migration(
    url: DatabaseUrl, folder: Path, settings: SqlxSettings, version: int
) -> tuple[bytes, bytes]:
    """Accept the file's current checksum for an applied migration.

    Returns:
        The old (applied) and new (file) checksums; equal when there was nothing to do.

    Raises:
        MigrationError: The version is not applied or has no file.
    """
    _sqlite_only(url)
    status_list = await migration_status(url, folder, settings)
    status = next((s for s in status_list if s.version == version), None)
    if status is None or status.applied is None:
        raise MigrationError(f"migration {version} is not applied", "nothing to restamp")
    if status.migration is None:
        raise MigrationError(
            f"migration {version} has no file in {folder}", "restore the file first"
        )
    old, new = status.applied.checksum, status.migration.checksum
    if old != new:
        store = await SqliteStore.open(url, settings.table_name, create=False)
        try:
            await store.restamp(version, new)
        finally:
            await store.close()
        log.info("restamped %s %s: %s -> %s", version, status.description, old.hex(), new.hex())
    return old, new


def next_version(migrations: list[Migration], *, timestamp: bool, sequential: bool) -> str:
    """The version prefix of a new migration, inferred from the existing ones as sqlx does.

    Sequential (4 digits) when asked, or when the two newest versions differ by 1, or
    when the only one is 0 or 1; otherwise a UTC timestamp `%Y%m%d%H%M%S`.
    """
    if timestamp and sequential:
        raise ConfigError("--timestamp and --sequential exclude each other")
    versions = sorted({m.version for m in migrations})
    if timestamp:
        return datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    inferred = None
    if len(versions) >= 2 and versions[-1] - versions[-2] == 1:
        inferred = versions[-1] + 1
    elif len(versions) == 1 and versions[0] in (0, 1):
        inferred = versions[0] + 1
    if sequential:
        inferred = versions[-1] + 1 if versions else 1
    if inferred is None:
        return datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"{inferred:04}"


def add_migration(
    folder: Path,
    description: str,
    *,
    reversible: bool | None = None,
    timestamp: bool = False,
    sequential: bool = False,
    settings: SqlxSettings = DEFAULT_SETTINGS,
) -> list[Path]:
    """Create a new migration file (or an up/down pair) named as `sqlx migrate add` does.

    Args:
        reversible: Make an `.up.sql`/`.down.sql` pair; None infers it from the newest
            existing migration, as sqlx does.

    Returns:
        The created files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    migrations = load_migrations(folder, settings)
    if reversible is None:
        reversible = bool(migrations) and migrations[-1].kind == "reversible"
    prefix = next_version(migrations, timestamp=timestamp, sequential=sequential)
    stem = f"{prefix}_{description.replace(' ', '_')}"
    if reversible:
        contents = {
            f"{stem}.up.sql": "-- Add up migration script here\n",
            f"{stem}.down.sql": "-- Add down migration script here\n",
        }
    else:
        contents = {f"{stem}.sql": "-- Add migration script here\n"}
    created = []
    for name, text in contents.items():
        path = folder / name
        try:
            with path.open("x", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except FileExistsError as error:
            raise MigrationError(f"{path} already exists", "choose another name") from error
        created.append(path)
    return created
