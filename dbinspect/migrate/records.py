"""Provides the records the migration engine hands to the CLI and the app.

NamedTuples rather than frozen dataclasses: as immutable, and several times cheaper to
define and to build. Every command is a new process that builds thousands of them, and
`migrate run` is measured against dbmate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from dbinspect.errors import MigrationError

MigrationKind = Literal["simple", "reversible"]
StatusKind = Literal["applied", "pending", "modified", "missing", "failed"]


class Migration(NamedTuple):
    """One migration of the folder: a simple file or an `.up.sql`/`.down.sql` pair."""

    version: int
    description: str
    """The name after the version, without the suffix, `_` turned into spaces."""
    kind: MigrationKind
    up_sql: str
    down_sql: str | None
    """The `.down.sql` text; None for a simple migration or a pair missing its down file."""
    checksum: bytes
    """SHA-384 of the up file's bytes (after removing `ignored-chars`), 48 bytes."""
    no_transaction: bool
    """The up file starts with `-- no-transaction`."""
    path: Path
    down_path: Path | None

    @property
    def down_no_transaction(self) -> bool:
        """The down file starts with `-- no-transaction`."""
        return self.down_sql is not None and self.down_sql.startswith("-- no-transaction")


class AppliedMigration(NamedTuple):
    """One row of the tracking table."""

    version: int
    description: str
    installed_on: str
    success: bool
    checksum: bytes
    execution_time: int
    """Nanoseconds; -1 while the migration's transaction had not been timed."""


def _not_sqlxs(table: str, problem: str) -> MigrationError:
    return MigrationError(
        f"the tracking table {table} is not sqlx's: {problem}",
        "sqlx cannot read it either; compare it with sqlx's CREATE TABLE",
    )


def checked_version(version: object, table: str) -> int:
    """A tracking row's version, which sqlx reads as a 64-bit integer.

    Raises:
        MigrationError: It is not an integer (a table made by hand, or a hostile file's).
    """
    if type(version) is not int:
        raise _not_sqlxs(table, f"version {version!r} is not an integer")
    return version


def applied_from_row(row: Sequence[object], table: str) -> AppliedMigration:
    """A tracking row as read, checked as sqlx checks it when it reads the table.

    The table may not be sqlx's (made by hand, or a hostile file's): sqlx reads each
    row's version as a 64-bit integer and its checksum as bytes, and stops at a row it
    cannot. A NULL `success` is not a failure (sqlx looks for `success = false`); the
    other columns are shown only.

    Raises:
        MigrationError: A version that is not an integer, or a checksum that is not bytes.
    """
    version, description, installed_on, success, checksum, execution_time = row
    number = checked_version(version, table)
    if not isinstance(checksum, bytes | bytearray | memoryview):
        what = "NULL" if checksum is None else f"a {type(checksum).__name__}, not bytes"
        raise _not_sqlxs(table, f"the checksum of version {number} is {what}")
    return AppliedMigration(
        number,
        "" if description is None else str(description),
        "" if installed_on is None else str(installed_on),
        success is None or bool(success),
        bytes(checksum),
        execution_time if type(execution_time) is int else -1,
    )


class MigrationStatus(NamedTuple):
    """Where one migration stands: in the folder, in the database, or both."""

    version: int
    description: str
    status: StatusKind
    migration: Migration | None
    applied: AppliedMigration | None


class MigrationEvent(NamedTuple):
    """Progress reported while migrations run or revert."""

    kind: Literal["started", "finished", "warning"]
    version: int
    description: str
    position: int
    """Position of this migration in the plan, from 0."""
    total: int
    """How many migrations the plan holds."""
    duration_ns: int | None = None
    message: str | None = None


class MigrationResult(NamedTuple):
    """One migration applied or reverted (or that would be, on a dry run)."""

    version: int
    description: str
    direction: Literal["up", "down"]
    duration_ns: int
    warnings: tuple[str, ...]


class InvalidIndex(NamedTuple):
    """An index PostgreSQL keeps but never uses: a `CREATE INDEX CONCURRENTLY` failed.

    A concurrent build commits its catalog entry before it builds, so a failure (a
    duplicate key, a cancel, a lost connection) leaves the index behind, marked INVALID,
    still slowing every write. Such a build still running looks the same meanwhile.
    """

    schema: str
    name: str
    table: str
    """The indexed table, schema-qualified when its schema is not the index's."""
    definition: str
    """`CREATE [UNIQUE] INDEX ...` as the server prints it."""
    sql_name: str
    """`schema.name` as SQL writes it, each part quoted where it needs to be."""

    def warning(self) -> str:
        """One line saying what is wrong and what to do."""
        return (
            f"index {self.sql_name} on {self.table} is INVALID (a CREATE INDEX "
            "CONCURRENTLY failed or is still running): the server does not use it but "
            f"keeps updating it; drop it (DROP INDEX CONCURRENTLY {self.sql_name}) "
            "and run the migration again"
        )
