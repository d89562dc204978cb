"""The registry of other migration tools: which tables each keeps, and how to read them.

Every tool is data: the tracking table's names, the columns it must have, the sibling
tables that must (or must not) sit beside it, the lock table, and one function that turns
the rows into a history. The columns and siblings come from each tool's own DDL:

- Alembic: `alembic_version(version_num)` (alembic/runtime/migration.py);
- dbmate: `schema_migrations(version varchar(128) primary key)` (pkg/driver/sqlite/sqlite.go);
- Rails: `schema_migrations(version)` beside `ar_internal_metadata(key, value, created_at,
  updated_at)` (active_record/schema_migration.rb, internal_metadata.rb);
- golang-migrate: `schema_migrations(version bigint, dirty boolean)` (database/postgres);
- goose: `goose_db_version(id, version_id, is_applied, tstamp)` (internal/dialects);
- Flyway: `flyway_schema_history(installed_rank, version, description, type, script,
  checksum, installed_by, installed_on, execution_time, success)` (SQLiteDatabase.java);
- Django: `django_migrations(id, app, name, applied)` (db/migrations/recorder.py);
- Prisma: `_prisma_migrations(id, checksum, finished_at, migration_name, logs,
  rolled_back_at, started_at, applied_steps_count)`;
- Diesel: `__diesel_schema_migrations(version, run_on)` (setup_migration_table.sql);
- knex: `knex_migrations(id, name, batch, migration_time)` beside
  `knex_migrations_lock(index, is_locked)` (lib/migrations/migrate/table-creator.js);
- yoyo: `_yoyo_migration(migration_hash, migration_id, applied_at_utc)` beside `_yoyo_log`
  and `yoyo_lock` (internalmigrations/v2.py, backends/base.py);
- EF Core: `__EFMigrationsHistory(MigrationId, ProductVersion)` beside
  `__EFMigrationsLock(Id, Timestamp)` (HistoryRepository.cs, SqliteHistoryRepository.cs).

Three tools name their table `schema_migrations`: golang-migrate's has a `dirty`
column, Rails' has `ar_internal_metadata` beside it, and dbmate's has neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dbinspect.migrate.foreign import files
from dbinspect.migrate.foreign.catalog import Reader, Table, as_text, truthy
from dbinspect.migrate.foreign.records import HistoryEntry


@dataclass(frozen=True, slots=True)
class Reading:
    """What a tool's rows say: entries, head, problems, notes and lock rows."""

    entries: tuple[HistoryEntry, ...]
    head: str | None
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    locks: tuple[str, ...] = ()
    applied: Callable[[str], bool] | None = None
    """Whether a file's version counts as applied (for pending files); None: by entries."""


ReadFunction = Callable[[Reader, Table, dict[str, Table]], Reading]


@dataclass(frozen=True, slots=True)
class Tool:
    """One migration tool, recognised by its tracking table."""

    name: str
    tables: tuple[str, ...]
    """The tracking table's names (the first one the tool uses today)."""
    columns: frozenset[str]
    read: ReadFunction
    exact_columns: bool = False
    """The table must have these columns and no other (dbmate's bare `version`)."""
    siblings: tuple[str, ...] = ()
    """Tables that must exist beside it."""
    excludes: tuple[str, ...] = ()
    """Tables whose presence means another tool kept this table."""
    extras: tuple[str, ...] = ()
    """Tables of the tool that are shown when present (logs, locks)."""
    file_versions: files.FileVersions | None = None
    """Reads versions from the tool's file names (the tools that can show pending files)."""
    folders: tuple[str, ...] = field(default=())
    """Where the tool keeps its files by default, relative to the working directory."""

    def matches(self, table: Table, found: dict[str, Table]) -> bool:
        """Whether `table` (with the other tables `found`) is this tool's."""
        if not self.columns <= table.columns:
            return False
        if self.exact_columns and table.columns != self.columns:
            return False
        if any(name not in found for name in self.siblings):
            return False
        return not any(name in found for name in self.excludes)


def _entries_of(
    rows: list[tuple[Any, ...]], make: Callable[..., HistoryEntry]
) -> tuple[HistoryEntry, ...]:
    return tuple(make(*row) for row in rows)


def _last_applied(entries: tuple[HistoryEntry, ...]) -> str | None:
    applied = [entry.version for entry in entries if entry.state == "applied"]
    return applied[-1] if applied else None


def _version_key(version: str) -> tuple[int, int | str]:
    """Versions of digits compare as numbers, others as text after them."""
    return (0, int(version)) if version.isdigit() else (1, version)


def read_alembic(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(f"SELECT version_num FROM {table.ref} ORDER BY version_num")
    entries = tuple(HistoryEntry(as_text(row[0]) or "") for row in rows)
    heads = ", ".join(entry.version for entry in entries)
    notes = ["Alembic records only the current revision (one per branch head)"]
    if len(entries) > 1:
        notes.append(f"{len(entries)} branch heads")
    return Reading(entries, heads or None, notes=tuple(notes))


def _read_versions(db: Reader, table: Table) -> tuple[HistoryEntry, ...]:
    rows = db.rows(f"SELECT version FROM {table.ref}")
    versions = sorted((as_text(row[0]) or "" for row in rows), key=_version_key)
    return tuple(HistoryEntry(version) for version in versions)


def read_dbmate(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    entries = _read_versions(db, table)
    notes = ("dbmate records no names, times, checksums or failures: only applied versions",)
    return Reading(entries, _last_applied(entries), notes=notes)


def read_rails(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    entries = _read_versions(db, table)
    notes = ["Rails records no names or times: only applied versions"]
    metadata = found["ar_internal_metadata"]
    if {"key", "value"} <= metadata.columns:
        for _, value in db.rows(
            f'SELECT "key", "value" FROM {metadata.ref} WHERE "key" = \'environment\''
        ):
            notes.append(f"environment: {as_text(value)}")
    return Reading(entries, _last_applied(entries), notes=tuple(notes))


def read_golang_migrate(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(f"SELECT version, dirty FROM {table.ref}")
    notes = ("golang-migrate records only the current version",)
    if not rows:
        return Reading((), None, notes=notes)
    version, dirty = as_text(rows[0][0]) or "", truthy(rows[0][1])
    entry = HistoryEntry(version, state="dirty" if dirty else "applied")
    problems: tuple[str, ...] = (
        (f"dirty at version {version}: a migration failed part-way; "
         "fix the database, then `migrate force` the version",)
        if dirty else ()
    )  # fmt: skip
    if len(rows) > 1:
        problems += (f"{len(rows)} rows where golang-migrate keeps one",)
    head = version

    def applied(file_version: str) -> bool:  # linear: everything up to the head
        return int(file_version) <= int(head) if head.lstrip("-").isdigit() else False

    return Reading((entry,), head, problems, notes, applied=applied)


def read_goose(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(f"SELECT id, version_id, is_applied, tstamp FROM {table.ref} ORDER BY id")
    # goose's own reading (its `ListMigrations` order, newest first): the newest row of a
    # version decides; a newer "not applied" row means it was rolled back.
    latest: dict[str, tuple[bool, str | None]] = {}
    for _, version, is_applied, tstamp in rows:
        latest[as_text(version) or ""] = (truthy(is_applied), as_text(tstamp))
    entries = []
    for version in sorted(latest, key=_version_key):
        if version == "0":
            continue  # the row goose writes when it creates the table
        is_applied, tstamp = latest[version]
        entries.append(HistoryEntry(version, None, tstamp, "applied" if is_applied else "reverted"))
    applied = [e.version for e in entries if e.state == "applied"]
    head = applied[-1] if applied else ("0" if rows else None)
    return Reading(tuple(entries), head, applied=lambda v: v in applied)


def read_flyway(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(
        f"SELECT installed_rank, version, description, type, script, installed_on, success "
        f"FROM {table.ref} ORDER BY installed_rank"
    )
    entries, problems = [], []
    for _, version, description, kind, script, installed_on, success in rows:
        shown = as_text(version) or "R"  # a repeatable migration has no version
        ok = truthy(success)
        entries.append(
            HistoryEntry(shown, as_text(description), as_text(installed_on),
                         "applied" if ok else "failed", as_text(kind))
        )  # fmt: skip
        if not ok:
            problems.append(
                f"failed: {shown} {as_text(script) or ''} (success = false); "
                "`flyway repair` removes the row"
            )
    versioned = [e.version for e in entries if e.state == "applied" and e.version != "R"]
    head = max(versioned, key=files.flyway_version) if versioned else None
    done = {files.flyway_version(v) for v in versioned}
    return Reading(
        tuple(entries), head, tuple(problems),
        applied=lambda v: files.flyway_version(v) in done,
    )  # fmt: skip


def read_django(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(f"SELECT id, app, name, applied FROM {table.ref} ORDER BY id")
    entries = tuple(
        HistoryEntry(f"{as_text(app)}.{as_text(name)}", as_text(name), as_text(applied))
        for _, app, name, applied in rows
    )
    heads: dict[str, str] = {}
    for _, app, name, _ in rows:
        heads[as_text(app) or ""] = as_text(name) or ""
    head = ", ".join(f"{app}.{name}" for app, name in sorted(heads.items()))
    notes = ("Django keeps one history per app: the head is each app's latest",)
    return Reading(entries, head or None, notes=notes)


def read_prisma(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(
        f"SELECT migration_name, started_at, finished_at, rolled_back_at, logs "
        f"FROM {table.ref} ORDER BY started_at, migration_name"
    )
    entries, problems = [], []
    for name, started, finished, rolled_back, logs in rows:
        log = (as_text(logs) or "").strip().splitlines()
        detail = log[0] if log else None
        if rolled_back is not None:
            state = "rolled back"
            when = as_text(rolled_back)
        elif finished is None:
            state = "failed"
            when = as_text(started)
            problems.append(
                f"failed: {as_text(name)} started {when} and never finished; "
                "`prisma migrate resolve` marks it"
            )
        else:
            state, when = "applied", as_text(finished)
        entries.append(HistoryEntry(as_text(name) or "", as_text(name), when, state, detail))  # type: ignore[arg-type]
    applied = sorted(e.version for e in entries if e.state == "applied")
    return Reading(tuple(entries), applied[-1] if applied else None, tuple(problems))


def read_diesel(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(f"SELECT version, run_on FROM {table.ref} ORDER BY version")
    entries = tuple(HistoryEntry(as_text(v) or "", None, as_text(t)) for v, t in rows)
    return Reading(entries, _last_applied(entries))


def read_knex(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(f"SELECT id, name, batch, migration_time FROM {table.ref} ORDER BY id")
    entries = tuple(
        HistoryEntry(as_text(name) or "", as_text(name), as_text(when), detail=f"batch {batch}")
        for _, name, batch, when in rows
    )
    locks = []
    lock = found.get("knex_migrations_lock")
    if lock is not None and "is_locked" in lock.columns:
        for index, is_locked in db.rows(f'SELECT "index", is_locked FROM {lock.ref}'):
            state = (
                "locked: a run is in progress, or one was killed" if truthy(is_locked) else "free"
            )
            locks.append(
                f"{lock.label}: index {as_text(index)}, is_locked = {as_text(is_locked)} ({state})"
            )
    return Reading(entries, _last_applied(entries), locks=tuple(locks))


def read_yoyo(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(
        f"SELECT migration_id, applied_at_utc FROM {table.ref} "
        "ORDER BY applied_at_utc, migration_id"
    )
    entries = tuple(HistoryEntry(as_text(i) or "", as_text(i), as_text(t)) for i, t in rows)
    notes: list[str] = []
    log = found.get("_yoyo_log")
    if log is not None and {"operation", "migration_id"} <= log.columns:
        count = db.rows(f"SELECT count(*) FROM {log.ref}")[0][0]
        notes.append(f"{count} rows in {log.label} (every apply, rollback and mark)")
    locks = []
    lock = found.get("yoyo_lock")
    if lock is not None and {"pid", "ctime"} <= lock.columns:
        for pid, ctime in db.rows(f"SELECT pid, ctime FROM {lock.ref}"):
            locks.append(f"{lock.label}: locked by pid {as_text(pid)} since {as_text(ctime)}")
    return Reading(entries, _last_applied(entries), notes=tuple(notes), locks=tuple(locks))


def read_efcore(db: Reader, table: Table, found: dict[str, Table]) -> Reading:
    rows = db.rows(
        f'SELECT "MigrationId", "ProductVersion" FROM {table.ref} ORDER BY "MigrationId"'
    )
    entries = []
    for migration_id, product in rows:
        text = as_text(migration_id) or ""
        name = text.partition("_")[2]
        entries.append(HistoryEntry(text, name or None, None, detail=f"EF Core {as_text(product)}"))
    locks = []
    lock = found.get("__EFMigrationsLock")
    if lock is not None and {"Id", "Timestamp"} <= lock.columns:
        for lock_id, stamp in db.rows(f'SELECT "Id", "Timestamp" FROM {lock.ref}'):
            locks.append(f"{lock.label}: Id {as_text(lock_id)} since {as_text(stamp)}")
    notes = ("EF Core records no times",)
    return Reading(tuple(entries), _last_applied(tuple(entries)), notes=notes, locks=tuple(locks))


TOOLS: tuple[Tool, ...] = (
    # The three `schema_migrations` first, most specific first.
    Tool(
        "golang-migrate",
        ("schema_migrations",),
        frozenset({"version", "dirty"}),
        read_golang_migrate,
        file_versions=files.golang_migrate_files,
    ),
    Tool(
        "Rails",
        ("schema_migrations",),
        frozenset({"version"}),
        read_rails,
        exact_columns=True,
        siblings=("ar_internal_metadata",),
    ),
    Tool(
        "dbmate",
        ("schema_migrations",),
        frozenset({"version"}),
        read_dbmate,
        exact_columns=True,
        excludes=("ar_internal_metadata",),
        file_versions=files.dbmate_files,
        folders=("db/migrations",),
    ),
    Tool("Alembic", ("alembic_version",), frozenset({"version_num"}), read_alembic),
    Tool(
        "goose",
        ("goose_db_version",),
        frozenset({"version_id", "is_applied", "tstamp"}),
        read_goose,
        file_versions=files.goose_files,
    ),
    Tool(
        "Flyway",
        ("flyway_schema_history",),
        frozenset({"installed_rank", "version", "description", "type", "script", "success"}),
        read_flyway,
        file_versions=files.flyway_files,
        folders=("sql", "src/main/resources/db/migration"),
    ),
    Tool("Django", ("django_migrations",), frozenset({"app", "name", "applied"}), read_django),
    Tool(
        "Prisma",
        ("_prisma_migrations",),
        frozenset({"migration_name", "started_at", "finished_at", "rolled_back_at", "logs"}),
        read_prisma,
    ),
    Tool(
        "Diesel",
        ("__diesel_schema_migrations",),
        frozenset({"version", "run_on"}),
        read_diesel,
        file_versions=files.diesel_files,
        folders=("migrations",),
    ),
    Tool(
        "knex",
        ("knex_migrations",),
        frozenset({"name", "batch", "migration_time"}),
        read_knex,
        extras=("knex_migrations_lock",),
    ),
    Tool(
        "yoyo",
        ("_yoyo_migration", "_yoyo_migrations"),
        frozenset({"migration_id", "applied_at_utc"}),
        read_yoyo,
        extras=("_yoyo_log", "yoyo_lock", "_yoyo_version"),
    ),
    Tool(
        "EF Core",
        ("__EFMigrationsHistory",),
        frozenset({"MigrationId", "ProductVersion"}),
        read_efcore,
        extras=("__EFMigrationsLock",),
    ),
)
"""Every recognised tool, in the order tables are claimed (a table goes to the first match)."""


def table_names() -> list[str]:
    """Every table name the registry looks for (tracking tables, siblings and extras)."""
    names: dict[str, None] = {}
    for tool in TOOLS:
        for name in (*tool.tables, *tool.siblings, *tool.excludes, *tool.extras):
            names[name] = None
    return list(names)
