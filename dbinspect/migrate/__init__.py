"""Provides the sqlx-compatible migration engine: folder rules, policy and SQLite runner.

Names load on first use: `dbinspect migrate run` needs the synchronous runner only, and
the asyncio facade the app uses (`aio`) would add asyncio's import to its start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dbinspect.lazy import lazy_attributes

if TYPE_CHECKING:
    from dbinspect.migrate.aio import (
        migration_status,
        restamp_migration,
        revert_migrations,
        run_migrations,
    )
    from dbinspect.migrate.authoring import add_migration, next_version
    from dbinspect.migrate.records import (
        AppliedMigration,
        Migration,
        MigrationEvent,
        MigrationResult,
        MigrationStatus,
    )
    from dbinspect.migrate.source import checksum, load_migrations, parse_file_name
    from dbinspect.migrate.statements import Statement, split_statements

_HOMES = {
    "dbinspect.migrate.aio": (
        "migration_status",
        "restamp_migration",
        "revert_migrations",
        "run_migrations",
    ),
    "dbinspect.migrate.authoring": ("add_migration", "next_version"),
    "dbinspect.migrate.records": (
        "AppliedMigration",
        "Migration",
        "MigrationEvent",
        "MigrationResult",
        "MigrationStatus",
    ),
    "dbinspect.migrate.source": ("checksum", "load_migrations", "parse_file_name"),
    "dbinspect.migrate.statements": ("Statement", "split_statements"),
}
_LAZY = {name: module for module, names in _HOMES.items() for name in names}

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


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, __all__)
