"""Runs the migration commands synchronously: status, run, revert and restamp.

Every function here does its database work on the calling thread, so it can run on a
worker thread and be stopped from another one through a `Cancellation`. The CLI calls
these directly; the app calls them through `dbinspect.migrate.aio`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

from dbinspect.config import SqlxSettings
from dbinspect.errors import ConnectError, MigrationError
from dbinspect.migrate import migrator
from dbinspect.migrate import store as stores
from dbinspect.migrate.cancellation import Cancellation
from dbinspect.migrate.dialect import Dialect
from dbinspect.migrate.migrator import PreparedSql
from dbinspect.migrate.records import (
    AppliedMigration,
    InvalidIndex,
    Migration,
    MigrationEvent,
    MigrationResult,
    MigrationStatus,
)
from dbinspect.migrate.source import DEFAULT_SETTINGS, load_migrations
from dbinspect.migrate.store import MigrationStore, dialect_for, open_store
from dbinspect.url import DatabaseUrl

log = logging.getLogger("dbinspect.migrate")
EventHandler = Callable[[MigrationEvent], None]


def _database_exists(path: Path) -> bool:
    """Whether the database file exists.

    Only "no such file" means missing; a symbolic link loop, a file where a folder should
    be or a folder without permission is refused with its cause, where `Path.exists()`
    would say False and every migration would be reported pending.
    """
    try:
        path.stat()
    except FileNotFoundError:
        return False
    except OSError as error:
        raise ConnectError(f"{path}: cannot open: {error.strerror}") from error
    return True


def _prepare(
    plan: list[Migration],
    prepared: dict[int, PreparedSql],
    dialect: Dialect,
    *,
    down: bool = False,
) -> dict[int, PreparedSql]:
    """Split and check each planned file once, refusing what cannot run in a transaction."""
    for migration in plan:
        if migration.version not in prepared:
            prepared[migration.version] = migrator.prepare(migration, dialect, down=down)
    return prepared


def _check_expected(plan: list[Migration], expected_versions: Sequence[int] | None) -> None:
    """Refuse a plan that is not the one the user confirmed (a file added, removed, applied).

    Raises:
        MigrationError: `expected_versions` is given and differs from the plan's versions.
    """
    if expected_versions is None:
        return
    planned = [m.version for m in plan]
    expected = list(expected_versions)
    if planned == expected:
        return

    def listed(versions: list[int]) -> str:
        return ", ".join(str(v) for v in versions) or "nothing"

    raise MigrationError(
        f"the migrations changed since you confirmed: confirmed {listed(expected)}, "
        f"would now run {listed(planned)}",
        "review the plan again",
    )


def _plan_run(
    migrations: list[Migration],
    applied: list[AppliedMigration],
    target_version: int | None,
    ignore_missing: bool,
    prepared: dict[int, PreparedSql],
    dialect: Dialect,
    expected_versions: Sequence[int] | None = None,
) -> list[Migration]:
    """Validate, plan and prepare a run; every refusal comes before anything is written."""
    status_list = migrator.statuses(migrations, applied)
    migrator.validate(status_list, ignore_missing=ignore_missing)
    plan = migrator.plan_run(status_list, applied, target_version)
    _check_expected(plan, expected_versions)
    _prepare(plan, prepared, dialect)
    return plan


def uses_dbmate(folder: Path, settings: SqlxSettings) -> bool:
    """Whether the folder is run as a dbmate project (see `dbinspect.migrate.dbmate`)."""
    if settings.source_format != "auto":
        return settings.source_format == "dbmate"
    from dbinspect.migrate.dbmate import is_dbmate_folder

    return is_dbmate_folder(folder)


def migration_status(
    url: DatabaseUrl, folder: Path, settings: SqlxSettings = DEFAULT_SETTINGS
) -> list[MigrationStatus]:
    """Every migration's status; never creates the database file or the tracking table.

    A database file that does not exist yet reports every migration as pending. A
    dbmate folder is read by dbmate's rules, against `schema_migrations`.
    """
    if uses_dbmate(folder, settings):
        from dbinspect.migrate import dbmate_runner

        return dbmate_runner.migration_status(url, folder)
    migrations = load_migrations(folder, settings)
    if url.path is not None and not _database_exists(url.path):
        return migrator.statuses(migrations, [])
    read_only = DatabaseUrl(url.backend, url.path, "ro" if url.path else url.mode, url.raw)
    # Reading the tracking table needs no extension: inspection never loads one.
    store = open_store(read_only, settings.table_name)
    try:
        applied = store.list_applied()
    finally:
        store.close()
    return migrator.statuses(migrations, applied)


def invalid_indexes(url: DatabaseUrl) -> list[InvalidIndex]:
    """Indexes a failed `CREATE INDEX CONCURRENTLY` left INVALID (PostgreSQL; none on SQLite).

    `migrate info` warns of each; the Migrations pane shows them.
    """
    return stores.invalid_indexes(url)


def _execute_plan(
    store: MigrationStore,
    plan: list[Migration],
    prepared: dict[int, PreparedSql],
    direction: Literal["up", "down"],
    on_event: EventHandler | None,
) -> list[MigrationResult]:
    down = direction == "down"
    results: list[MigrationResult] = []
    total = len(plan)
    verb = "reverted" if down else "applied"
    for index, migration in enumerate(plan):
        version, description = migration.version, migration.description
        step = prepared[version]
        for warning in step.warnings:
            log.warning("%s", warning)
            if on_event is not None:
                on_event(
                    MigrationEvent("warning", version, description, index, total, message=warning)
                )
        if on_event is not None:
            on_event(MigrationEvent("started", version, description, index, total))
        elapsed = store.apply(migration, step.statements, down=down)
        if elapsed is None:
            # Another runner applied (or reverted) it between our read and our lock.
            log.info("skipped %s/%s %s: done by another process", version, direction, description)
            continue
        log.info("%s %s %s (%.3f ms)", verb, version, description, elapsed / 1e6)
        if on_event is not None:
            on_event(
                MigrationEvent("finished", version, description, index, total, duration_ns=elapsed)
            )
        results.append(MigrationResult(version, description, direction, elapsed, step.warnings))
    return results


def run_migrations(
    url: DatabaseUrl,
    folder: Path,
    settings: SqlxSettings = DEFAULT_SETTINGS,
    *,
    target_version: int | None = None,
    dry_run: bool = False,
    ignore_missing: bool = False,
    on_event: EventHandler | None = None,
    cancellation: Cancellation | None = None,
    expected_versions: Sequence[int] | None = None,
) -> list[MigrationResult]:
    """Apply pending migrations in version order, each in its own transaction.

    Creates the database file when missing (not on a dry run), and the tracking table,
    but only once every check has passed: a refused file leaves no trace. A
    `cancellation.cancel()` from another thread interrupts the running statement and rolls
    its migration back.

    Args:
        expected_versions: The versions a confirmed plan showed, in order. When given, the
            run is refused before anything is written if the plan made here, on the
            database as it is now, differs (a file added or removed, one applied by
            another process).

    Returns:
        One result per migration this call applied (or would apply, on a dry run).

    Raises:
        MigrationSourceError, DirtyDatabaseError, MissingMigrationError,
        ChecksumMismatchError, MigrationFailedError, MigrationError, and
        CancelledInWorker after a cancel.
    """
    if uses_dbmate(folder, settings):
        from dbinspect.migrate import dbmate_runner

        return dbmate_runner.run_migrations(
            url,
            folder,
            target_version=target_version,
            dry_run=dry_run,
            ignore_missing=ignore_missing,
            on_event=on_event,
            cancellation=cancellation,
            expected_versions=expected_versions,
        )
    dialect = dialect_for(url)
    if dry_run:
        status_list = migration_status(url, folder, settings)
        applied = [s.applied for s in status_list if s.applied is not None]
        migrator.validate(status_list, ignore_missing=ignore_missing)
        plan = migrator.plan_run(status_list, applied, target_version)
        _check_expected(plan, expected_versions)
        return [
            MigrationResult(
                m.version, m.description, "up", 0, migrator.prepare(m, dialect).warnings
            )
            for m in plan
        ]
    migrations = load_migrations(folder, settings)
    prepared: dict[int, PreparedSql] = {}
    if url.path is not None and not _database_exists(url.path):
        # Opening creates the file: plan the run on an empty database before that.
        _plan_run(
            migrations, [], target_version, ignore_missing, prepared, dialect, expected_versions
        )
    store = open_store(
        url,
        settings.table_name,
        create=True,
        write=True,
        cancellation=cancellation,
        extensions=settings.extensions,
    )
    try:
        store.lock()  # what is applied is read under the lock, as sqlx reads it
        try:
            applied = store.list_applied()  # empty without a tracking table; creates nothing
            plan = _plan_run(
                migrations,
                applied,
                target_version,
                ignore_missing,
                prepared,
                dialect,
                expected_versions,
            )
            store.ensure_table()
            return _execute_plan(store, plan, prepared, "up", on_event)
        finally:
            store.flush_execution_time()
            store.unlock()
    finally:
        store.close()


def revert_migrations(
    url: DatabaseUrl,
    folder: Path,
    settings: SqlxSettings = DEFAULT_SETTINGS,
    *,
    target_version: int | None = None,
    dry_run: bool = False,
    on_event: EventHandler | None = None,
    cancellation: Cancellation | None = None,
    expected_versions: Sequence[int] | None = None,
) -> list[MigrationResult]:
    """Revert the newest applied reversible migration, or all of them above `target_version`.

    `target_version=0` reverts every reversible migration. Each down file runs in its own
    transaction with the deletion of its tracking row. `expected_versions` refuses a plan
    that differs from a confirmed one before anything is reverted, as in `run_migrations`.

    Raises:
        The same refusals as `run_migrations`, and MigrationError for a missing down file.
    """
    if uses_dbmate(folder, settings):
        from dbinspect.migrate import dbmate_runner

        return dbmate_runner.revert_migrations(
            url,
            folder,
            target_version=target_version,
            dry_run=dry_run,
            on_event=on_event,
            cancellation=cancellation,
            expected_versions=expected_versions,
        )
    dialect = dialect_for(url)
    migrations = load_migrations(folder, settings)

    def plan_from(applied: list[AppliedMigration]) -> list[Migration]:
        status_list = migrator.statuses(migrations, applied)
        migrator.validate(status_list)
        plan = migrator.plan_revert(status_list, applied, target_version)
        _check_expected(plan, expected_versions)
        return plan

    status_list = migration_status(url, folder, settings)
    plan = plan_from([s.applied for s in status_list if s.applied is not None])
    prepared = _prepare(plan, {}, dialect, down=True)  # refuse before opening for writing
    if dry_run or not plan:
        return [
            MigrationResult(m.version, m.description, "down", 0, prepared[m.version].warnings)
            for m in plan
        ]
    store = open_store(
        url,
        settings.table_name,
        write=True,
        cancellation=cancellation,
        extensions=settings.extensions,
    )
    try:
        store.lock()
        try:
            # Planned again under the lock: another runner may have moved on meanwhile.
            plan = plan_from(store.list_applied())
            _prepare(plan, prepared, dialect, down=True)
            return _execute_plan(store, plan, prepared, "down", on_event)
        finally:
            store.unlock()
    finally:
        store.close()


def refuse_dbmate_restamp(folder: Path, settings: SqlxSettings) -> None:
    """Refuse restamp for a dbmate folder, whose table keeps no checksum.

    Raises:
        MigrationError: The folder is dbmate's.
    """
    if uses_dbmate(folder, settings):
        raise MigrationError(
            "restamp does not apply to a dbmate folder: schema_migrations keeps no checksum"
        )


def restamp_migration(
    url: DatabaseUrl, folder: Path, settings: SqlxSettings, version: int
) -> tuple[bytes, bytes]:
    """Accept the file's current checksum for an applied migration.

    Returns:
        The old (applied) and new (file) checksums; equal when there was nothing to do.

    Raises:
        MigrationError: The version is not applied or has no file, or the folder is
            dbmate's (its table keeps no checksum).
    """
    refuse_dbmate_restamp(folder, settings)
    status_list = migration_status(url, folder, settings)
    status = next((s for s in status_list if s.version == version), None)
    if status is None or status.applied is None:
        raise MigrationError(f"migration {version} is not applied", "nothing to restamp")
    if status.migration is None:
        raise MigrationError(
            f"migration {version} has no file in {folder}", "restore the file first"
        )
    old, new = status.applied.checksum, status.migration.checksum
    if old != new:
        store = open_store(url, settings.table_name, write=True, extensions=settings.extensions)
        try:
            store.lock()
            try:
                store.restamp(version, new)
            finally:
                store.unlock()
        finally:
            store.close()
        log.info("restamped %s %s: %s -> %s", version, status.description, old.hex(), new.hex())
    return old, new


def baseline_plan(folder: Path, settings: SqlxSettings, version: int) -> list[Migration]:
    """The migrations a baseline at `version` records: every one up to it, in order.

    Raises:
        MigrationSourceError: The folder breaks sqlx's rules.
        MigrationError: `version` has no file in the folder.
    """
    if uses_dbmate(folder, settings):
        raise MigrationError(
            f"baseline records sqlx's {settings.table_name}, but {folder} is a dbmate folder",
            "pass --source-format sqlx if the folder is sqlx's",
        )
    migrations = load_migrations(folder, settings)
    if not any(m.version == version for m in migrations):
        raise MigrationError(
            f"version {version} is not in the migrations folder {folder}",
            "pass a version listed by `dbinspect migrate info`",
        )
    return [m for m in migrations if m.version <= version]


def baseline_migrations(
    url: DatabaseUrl,
    folder: Path,
    settings: SqlxSettings,
    version: int,
    *,
    expected_versions: Sequence[int] | None = None,
    cancellation: Cancellation | None = None,
) -> list[Migration]:
    """Record every migration up to `version` as applied, without running any of them.

    For a database built by hand or by another tool that now moves to the sqlx folder:
    the rows are those sqlx would have written (see `MigrationStore.record_baseline`),
    all in one transaction, under sqlx's lock.

    Returns:
        The migrations recorded, in version order.

    Raises:
        MigrationError: No such version, a plan that differs from `expected_versions`,
            or a tracking table that already has rows.
        ConnectError: The database does not exist or cannot be opened.
    """
    plan = baseline_plan(folder, settings, version)
    _check_expected(plan, expected_versions)
    if url.path is not None and not _database_exists(url.path):
        raise ConnectError(
            f"database not found: {url.path}",
            "baseline adopts an existing database; `dbinspect migrate run` builds a new one",
        )
    store = open_store(
        url,
        settings.table_name,
        write=True,
        cancellation=cancellation,
        extensions=settings.extensions,
    )
    try:
        store.lock()
        try:
            applied = store.list_applied()
            if applied:
                raise migrator.baseline_refusal(len(applied), settings.table_name)
            store.ensure_table()
            store.record_baseline(plan)
        finally:
            store.unlock()
    finally:
        store.close()
    log.info("baselined %d migration(s) up to %s", len(plan), version)
    return plan
