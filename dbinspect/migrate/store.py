"""The migration-store seam: sqlx's `Migrate` trait, one store per database.

The runner and the policy speak only to `MigrationStore`; `open_store` picks the SQLite
or PostgreSQL store by the URL, importing its driver only then.
"""

from __future__ import annotations

from typing import Protocol

from dbinspect.extensions import Extension
from dbinspect.migrate.cancellation import Cancellation
from dbinspect.migrate.dialect import Dialect
from dbinspect.migrate.records import AppliedMigration, InvalidIndex, Migration
from dbinspect.migrate.statements import Statement
from dbinspect.url import DatabaseUrl


class MigrationStore(Protocol):
    """The tracking table and migration transactions of one database (sqlx's `Migrate`)."""

    dialect: Dialect

    def ensure_table(self) -> None:
        """Create the tracking table, exactly as sqlx would, when it is missing."""
        ...

    def dirty_version(self) -> int | None:
        """The lowest version whose tracking row says it failed, if any."""
        ...

    def list_applied(self) -> list[AppliedMigration]:
        """Every tracking row by version; empty without a tracking table (creates none)."""
        ...

    def lock(self) -> None:
        """Keep other runners (dbinspect's or an app's sqlx) out until `unlock`; may wait."""
        ...

    def unlock(self) -> None:
        """Let other runners in again."""
        ...

    def apply(
        self, migration: Migration, statements: list[Statement], *, down: bool = False
    ) -> int | None:
        """Run a migration's up (or down) file with its tracking row, atomically.

        Returns:
            Nanoseconds taken, or None when another runner had already done it.
        """
        ...

    def restamp(self, version: int, checksum: bytes) -> None:
        """Store `checksum` as the applied checksum of `version`."""
        ...

    def record_baseline(self, migrations: list[Migration]) -> None:
        """Record `migrations` as applied without running them, in one transaction.

        Each row is the one sqlx writes (success true, the file's checksum, the default
        installed_on), with an execution_time of 0: nothing ran. Call after `ensure_table`.

        Raises:
            MigrationError: The tracking table already holds rows (checked in the same
                transaction, so a runner that got there first is never overwritten).
        """
        ...

    def flush_execution_time(self) -> None:
        """Write the execution time still pending for the last applied migration."""
        ...

    def close(self) -> None:
        """Close the store's connections (releasing any lock with them)."""
        ...


def dialect_for(url: DatabaseUrl) -> Dialect:
    """The statement rules of the URL's database."""
    if url.backend == "postgres":
        from dbinspect.migrate.pg_dialect import POSTGRES

        return POSTGRES
    from dbinspect.migrate.sqlite_dialect import SQLITE

    return SQLITE


def open_store(
    url: DatabaseUrl,
    table: str,
    *,
    create: bool = False,
    write: bool = False,
    cancellation: Cancellation | None = None,
    extensions: tuple[Extension, ...] = (),
) -> MigrationStore:
    """Open the store of the URL's database (see each store's `open` for the options).

    Raises:
        ConnectError: The database cannot be opened.
    """
    if url.backend == "postgres":
        from dbinspect.migrate.pg_store import PgStore

        return PgStore.open(url, table, write=write, cancellation=cancellation)
    from dbinspect.migrate.sqlite_store import SqliteStore

    return SqliteStore.open(
        url, table, create=create, write=write, cancellation=cancellation, extensions=extensions
    )


def invalid_indexes(url: DatabaseUrl) -> list[InvalidIndex]:
    """Indexes left INVALID by a failed concurrent build; SQLite has none.

    Raises:
        ConnectError: The database cannot be opened.
        MigrationError: The catalog cannot be read.
    """
    if url.backend != "postgres":
        return []
    from dbinspect.migrate.pg_store import read_invalid_indexes

    return read_invalid_indexes(url)
