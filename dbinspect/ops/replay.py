"""Replays migrations into a scratch database and reads back the schema they build.

`check` compares the result with the live database (drift); table recreation can build
on the same function. SQLite's scratch database lives in memory; PostgreSQL's is a
temporary database on the same server, dropped afterwards. The migrations run through
the engine's own store, statement rules and tracking table, so the scratch schema is
what `migrate run` would have built.

A statement that acts outside its own database (`CREATE DATABASE`, `CREATE ROLE`,
`ALTER SYSTEM`, SQLite's `ATTACH`...) would reach past the scratch database into the
server or the file system: it is skipped, and reported.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import Literal, NamedTuple

from dbinspect.config import SqlxSettings
from dbinspect.errors import OperationError
from dbinspect.migrate import migrator
from dbinspect.migrate.records import Migration
from dbinspect.migrate.source import load_migrations
from dbinspect.migrate.statements import Statement
from dbinspect.migrate.store import MigrationStore, dialect_for, open_store
from dbinspect.models import Schema
from dbinspect.url import DatabaseUrl

UrlKind = Literal["sqlite", "postgres"]

# First words of statements that act on the server, other databases or files. Matched on
# the statement's leading words, upper-cased, with runs of whitespace collapsed.
_OUTSIDE = {
    "postgres": re.compile(
        r"^(?:(?:CREATE|ALTER|DROP)\s+(?:DATABASE|ROLE|USER|GROUP|TABLESPACE|SUBSCRIPTION)\b"
        r"|ALTER\s+SYSTEM\b|REASSIGN\s+OWNED\b"
        r"|(?:COMMENT|SECURITY\s+LABEL)\s+ON\s+(?:DATABASE|ROLE|TABLESPACE)\b"
        r"|COPY\b.*\b(?:FROM|TO)\s+(?:PROGRAM\b|')"
        r"|GRANT\s+(?:(?!\bON\b).)*\bTO\b"  # a role granted to a role: cluster-wide
        r"|REVOKE\s+(?:(?!\bON\b).)*\bFROM\b)",
        re.DOTALL,
    ),
    "sqlite": re.compile(r"^(?:ATTACH|DETACH|VACUUM\b.*\bINTO)\b", re.DOTALL),
}


class SkippedStatement(NamedTuple):
    """A statement the replay left out, because it acts outside its database."""

    version: int
    file: str
    statement: str
    """`statement N: <first line>`."""


class Replay(NamedTuple):
    """The schema the migrations build, and what the replay had to leave out."""

    schema: Schema
    versions: tuple[int, ...]
    """The migrations replayed, in order."""
    skipped: tuple[SkippedStatement, ...]


def acts_outside_database(statement: Statement, kind: UrlKind) -> bool:
    """Whether `statement` reaches beyond its own database (the server, roles, files)."""
    words = " ".join(statement.body.split()).upper()
    return bool(_OUTSIDE[kind].match(words))


def _plan(
    kind: UrlKind, folder: Path, settings: SqlxSettings, versions: Collection[int] | None
) -> tuple[list[tuple[Migration, list[Statement]]], list[SkippedStatement]]:
    """The migrations to replay, each with the statements kept; the statements skipped."""
    dialect = dialect_for(DatabaseUrl(kind))
    plan: list[tuple[Migration, list[Statement]]] = []
    skipped: list[SkippedStatement] = []
    from dbinspect.migrate.runner import uses_dbmate

    if uses_dbmate(folder, settings):
        from dbinspect.migrate.dbmate import load_dbmate

        migrations = [file.migration for file in load_dbmate(folder)]  # their up sections
    else:
        migrations = load_migrations(folder, settings)
    for migration in migrations:
        if versions is not None and migration.version not in versions:
            continue
        kept = []
        for statement in migrator.prepare(migration, dialect).statements:
            if acts_outside_database(statement, kind):
                skipped.append(
                    SkippedStatement(migration.version, migration.path.name, statement.label())
                )
            else:
                kept.append(statement)
        plan.append((migration, kept))
    return plan, skipped


def _apply(store: MigrationStore, plan: list[tuple[Migration, list[Statement]]]) -> None:
    """Run the plan on the scratch store: the tracking table and every migration."""
    if not plan:
        return  # a database no migration touched has no tracking table either
    store.lock()
    try:
        store.ensure_table()
        for migration, statements in plan:
            store.apply(migration, statements)
        store.flush_execution_time()
    finally:
        store.unlock()


async def replay_migrations(
    url_kind: UrlKind,
    folder: Path,
    settings: SqlxSettings,
    *,
    versions: Collection[int] | None = None,
    server: DatabaseUrl | None = None,
) -> Replay:
    """Apply the migrations of `folder` to an empty scratch database; return its schema.

    Args:
        url_kind: `sqlite` (an in-memory database) or `postgres`.
        folder: The migrations folder.
        settings: `sqlx.toml`'s settings (tracking table, checksums, extensions).
        versions: Replay only these versions (e.g. those the live database applied).
        server: PostgreSQL: a database on the server that hosts the scratch database
            (its user needs CREATEDB). Unused for SQLite.

    Raises:
        MigrationSourceError, MigrationError: The folder cannot be read.
        MigrationFailedError: A migration fails on the empty database.
        OperationError: PostgreSQL: no `server`, or no scratch database can be created.
    """
    plan, skipped = _plan(url_kind, folder, settings, versions)
    replayed = tuple(m.version for m, _ in plan)
    if url_kind == "sqlite":
        schema = await _replay_sqlite(plan, settings)
    else:
        if server is None:
            raise OperationError("replaying PostgreSQL migrations needs a server to use")
        schema = await _replay_postgres(plan, settings, server)
    return Replay(schema, replayed, tuple(skipped))


async def _replay_sqlite(
    plan: list[tuple[Migration, list[Statement]]], settings: SqlxSettings
) -> Schema:
    from dbinspect import sqlite_driver as driver
    from dbinspect.backends.sqlite_schema import load_schema

    memory = DatabaseUrl("sqlite", None, None, "sqlite::memory:")
    store = open_store(
        memory, settings.table_name, create=True, write=True, extensions=settings.extensions
    )
    reader = await driver.connect_async(":memory:", isolation_level=None, check_same_thread=False)
    try:
        source = store.conn  # type: ignore[attr-defined]
        await asyncio.to_thread(_apply, store, plan)
        # The schema reader reads an async connection: the scratch database is copied
        # into one (memory to memory, through SQLite's backup API) to be read as the live
        # one is, with the same reader.
        await asyncio.to_thread(source.backup, reader._conn)
        return await load_schema(reader)
    finally:
        await reader.close()
        store.close()


async def _replay_postgres(
    plan: list[tuple[Migration, list[Statement]]], settings: SqlxSettings, server: DatabaseUrl
) -> Schema:
    from dbinspect import pg_driver
    from dbinspect.backends import open_backend
    from dbinspect.ops.pg_scratch import scratch_database

    async with scratch_database(server, f"dbinspect_scratch_{uuid.uuid4().hex[:12]}") as name:
        url = pg_driver.with_database(server, name)
        store = open_store(url, settings.table_name, write=True)
        try:
            await asyncio.to_thread(_apply, store, plan)
        finally:
            store.close()
        backend = await open_backend(url)
        try:
            return await backend.schema()
        finally:
            await backend.aclose()
