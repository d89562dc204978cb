"""Provides the sqlx-compatible migration engine: folder rules, policy and SQLite runner."""

from __future__ import annotations

from dbinspect.migrate.commands import (
    add_migration,
    migration_status,
    next_version,
    restamp_migration,
    revert_migrations,
    run_migrations,
)
from dbinspect.migrate.records import (
    AppliedMigration,
    Migration,
    MigrationEvent,
    MigrationResult,
    MigrationStatus,
)
from dbinspect.migrate.source import checksum, load_migrations, parse_file_name
from dbinspect.migrate.statements import Statement, split_statements

__all__ = [
    "AppliedMigration",
    "Migration",
    "MigrationEvent",
    "MigrationResult",
    "MigrationStatus",
    "Statement",
    "add_migration",
    "checksum",
    "load_migrations",
    "migration_status",
    "next_version",
    "parse_file_name",
    "restamp_migration",
    "revert_migrations",
    "run_migrations",
    "split_statements",
]
