"""Decides what to run: statuses, refusals and plans, with no I/O and no database driver.

The same policy for every database; what differs in SQL comes in as a `Dialect`.
"""

from __future__ import annotations

from typing import NamedTuple

from dbinspect.errors import (
    ChecksumMismatchError,
    DirtyDatabaseError,
    MigrationError,
    MissingMigrationError,
)
from dbinspect.migrate.dialect import Dialect
from dbinspect.migrate.records import AppliedMigration, Migration, MigrationStatus, StatusKind
from dbinspect.migrate.statements import Statement, explain_checksum_difference


class PreparedSql(NamedTuple):
    """A file's statements, checked, with the warnings to show before it runs."""

    statements: list[Statement]
    warnings: tuple[str, ...]


def statuses(migrations: list[Migration], applied: list[AppliedMigration]) -> list[MigrationStatus]:
    """Join the folder and the tracking table into one status per version."""
    by_version = {a.version: a for a in applied}
    result = []
    for migration in migrations:
        row = by_version.pop(migration.version, None)
        status: StatusKind
        if row is None:
            status = "pending"
        elif not row.success:
            status = "failed"
        elif row.checksum != migration.checksum:
            status = "modified"
        else:
            status = "applied"
        result.append(
            MigrationStatus(migration.version, migration.description, status, migration, row)
        )
    for row in by_version.values():
        status = "failed" if not row.success else "missing"
        result.append(MigrationStatus(row.version, row.description, status, None, row))
    return sorted(result, key=lambda s: s.version)


def dirty_error(version: int) -> DirtyDatabaseError:
    """The refusal for a tracking row with `success` false."""
    return DirtyDatabaseError(
        f"migration {version} is partially applied (its tracking row says it failed)",
        f"repair the database by hand, then delete the row of version {version} "
        "from _sqlx_migrations (sqlx refuses this database too)",
    )


def checksum_error(migration: Migration, applied: bytes) -> ChecksumMismatchError:
    """The refusal for an applied file whose bytes changed, saying when only EOL/BOM did."""
    try:
        detail = explain_checksum_difference(migration.path.read_bytes(), applied)
    except OSError:
        detail = None
    what = f" (only its {detail} changed)" if detail else ""
    hint = (
        f"if the SQL is unchanged, accept the new checksum with "
        f"`dbinspect migrate restamp {migration.version}`"
        if detail
        else f"restore the file as it was applied (see `git log {migration.path.name}`), "
        "or add a new migration for the change"
    )
    return ChecksumMismatchError(
        f"migration {migration.version} ({migration.path.name}) was changed after it was "
        f"applied{what}: applied checksum {applied.hex()[:16]}..., "
        f"file checksum {migration.checksum.hex()[:16]}...",
        hint,
    )


def validate(status_list: list[MigrationStatus], *, ignore_missing: bool = False) -> None:
    """Refuse a dirty database, a missing applied file, or a changed applied file.

    Raises:
        DirtyDatabaseError, MissingMigrationError, ChecksumMismatchError.
    """
    for status in status_list:
        if status.status == "failed":
            raise dirty_error(status.version)
    for status in status_list:
        if status.status == "missing" and not ignore_missing:
            raise MissingMigrationError(
                f"migration {status.version} ({status.description}) is applied but its file "
                "is not in the migrations folder",
                "restore the file, point --source at the right folder, or pass --ignore-missing",
            )
    for status in status_list:
        if status.status == "modified" and status.migration and status.applied:
            raise checksum_error(status.migration, status.applied.checksum)


def latest_applied(applied: list[AppliedMigration]) -> int:
    """The highest applied version, 0 when none."""
    return max((a.version for a in applied), default=0)


def plan_run(
    status_list: list[MigrationStatus], applied: list[AppliedMigration], target: int | None
) -> list[Migration]:
    """The pending migrations to apply, in version order, up to `target` if given."""
    if target is not None:
        if not any(s.version == target and s.migration for s in status_list):
            raise MigrationError(
                f"target version {target} is not in the migrations folder",
                "pass a version listed by `dbinspect migrate info`",
            )
        if target < latest_applied(applied):
            raise MigrationError(
                f"target version {target} is older than the latest applied version "
                f"{latest_applied(applied)}",
                "use `dbinspect migrate revert --target-version` to go back",
            )
    return [
        s.migration
        for s in status_list
        if s.status == "pending" and s.migration and (target is None or s.version <= target)
    ]


def plan_revert(
    status_list: list[MigrationStatus], applied: list[AppliedMigration], target: int | None
) -> list[Migration]:
    """The applied reversible migrations to revert, newest first.

    Without a target, only the newest applied reversible migration (as sqlx). Simple
    migrations are skipped, as sqlx skips them; an `.up.sql` without its `.down.sql`
    is refused, since sqlx would silently skip it and revert the ones below.
    """
    if target is not None and target != 0:
        if not any(s.version == target and s.migration for s in status_list):
            raise MigrationError(
                f"target version {target} is not in the migrations folder",
                "pass a version listed by `dbinspect migrate info`, or 0 to revert all",
            )
        if target > latest_applied(applied):
            raise MigrationError(
                f"target version {target} is newer than the latest applied version "
                f"{latest_applied(applied)}",
                "use `dbinspect migrate run --target-version` to go forward",
            )
    plan = []
    for status in reversed(status_list):
        migration = status.migration
        if status.applied is None or migration is None or migration.kind == "simple":
            continue
        if target is not None and status.version <= target:
            break
        if migration.down_sql is None:
            raise MigrationError(
                f"cannot revert migration {migration.version}: {migration.path.name} has no "
                f"down file",
                f"add {migration.path.name.removesuffix('.up.sql')}.down.sql",
            )
        plan.append(migration)
        if target is None:
            break
    return plan


def prepare(migration: Migration, dialect: Dialect, *, down: bool = False) -> PreparedSql:
    """Split a file into statements and refuse what cannot run in its transaction.

    Raises:
        MigrationError: A transactional file holds what would end its transaction or
            cannot run inside one, or any file holds a NUL character or a statement that
            needs a client's data (`COPY ... FROM STDIN`).
    """
    sql = migration.down_sql if down else migration.up_sql
    path = migration.down_path if down else migration.path
    no_tx = migration.down_no_transaction if down else migration.no_transaction
    assert sql is not None and path is not None
    nul = sql.find("\0")
    if nul != -1:
        line = sql.count("\n", 0, nul) + 1
        raise MigrationError(
            f"{path.name}: line {line} holds a NUL character, {dialect.nul_reason}",
            "remove it; save the file as text",
        )
    statements = dialect.split(sql)
    needs_client = dialect.client_refusal(statements)
    if needs_client is not None:
        raise MigrationError(
            f"{path.name}: {needs_client.label()} {dialect.client_reason}",
            "load the data with INSERT statements, or COPY from a file on the server",
        )
    if no_tx:
        return PreparedSql(statements, ())
    refused = dialect.transaction_refusal(statements)
    if refused is not None:
        raise MigrationError(
            f"{path.name}: {refused.label()} cannot run inside the migration's transaction "
            f"({refused.keyword} {dialect.transaction_reason})",
            "remove it (each migration already runs in its own transaction), or make the "
            "file's first line `-- no-transaction`",
        )
    return PreparedSql(statements, dialect.warnings(statements, path.name))


def baseline_refusal(rows: int, table: str) -> MigrationError:
    """The refusal of a baseline on a database whose tracking table already has rows."""
    return MigrationError(
        f"{table} already has {rows} row(s): baseline only adopts a database that no "
        "sqlx migration has touched; nothing was recorded",
        "see `dbinspect migrate info`; `dbinspect migrate run` applies what is pending",
    )
