"""Provides the frozen records the migration engine hands to the CLI and the app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MigrationKind = Literal["simple", "reversible"]
StatusKind = Literal["applied", "pending", "modified", "missing", "failed"]


@dataclass(frozen=True, slots=True)
class Migration:
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


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """One row of the tracking table."""

    version: int
    description: str
    installed_on: str
    success: bool
    checksum: bytes
    execution_time: int
    """Nanoseconds; -1 while the migration's transaction had not been timed."""


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Where one migration stands: in the folder, in the database, or both."""

    version: int
    description: str
    status: StatusKind
    migration: Migration | None
    applied: AppliedMigration | None


@dataclass(frozen=True, slots=True)
class MigrationEvent:
    """Progress reported while migrations run or revert."""

    kind: Literal["started", "finished", "warning"]
    version: int
    description: str
    index: int
    """Position of this migration in the plan, from 0."""
    total: int
    """How many migrations the plan holds."""
    duration_ns: int | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """One migration applied or reverted (or that would be, on a dry run)."""

    version: int
    description: str
    direction: Literal["up", "down"]
    duration_ns: int
    warnings: tuple[str, ...]
