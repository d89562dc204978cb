"""Tests applying, reverting and inspecting migrations on real SQLite files."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from pathlib import Path

import pytest
from migrate_helpers import (
    ATUIN,
    SQLX,
    dump,
    file_bytes,
    integrity,
    tracking_rows,
    wait_until_refused,
    write_folder,
)

from dbinspect.config import SqlxSettings
from dbinspect.errors import (
    ChecksumMismatchError,
    DirtyDatabaseError,
    MigrationError,
    MigrationFailedError,
    MissingMigrationError,
)
from dbinspect.migrate import (
    MigrationEvent,
    load_migrations,
    migration_status,
    restamp_migration,
    revert_migrations,
    run_migrations,
    runner,
)
from dbinspect.migrate.sqlite_tx import LOCK_POLL_MS
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import DatabaseUrl

SQLITE_FOLDERS = [
    *sorted((SQLX / "tests" / "sqlite").glob("migrations*")),
    SQLX / "sqlx-cli" / "tests" / "migrations_reversible",
    *sorted(p for p in ATUIN.glob("*/migrations") if "postgres" not in p.parent.name),
]
SQLX_DDL = """
CREATE TABLE IF NOT EXISTS _sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);
"""


@pytest.mark.parametrize("folder", SQLITE_FOLDERS, ids=lambda p: "/".join(p.parts[-3:]))
async def test_corpus_folder_applies_and_reverts(
    folder: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    migrations = load_migrations(folder)
    results = await run_migrations(db_url, folder)
    assert [r.version for r in results] == [m.version for m in migrations]
    rows = tracking_rows(db_path)
    assert [(r[0], r[1], r[2]) for r in rows] == [(m.version, m.description, 1) for m in migrations]
    for row, migration in zip(rows, migrations, strict=True):
        assert row[3] == hashlib.sha384(migration.path.read_bytes()).digest()
        assert isinstance(row[4], int) and row[4] > 0
    integrity(db_path)
    assert await run_migrations(db_url, folder) == []  # applying twice is a no-op
    statuses = await migration_status(db_url, folder)
    assert {s.status for s in statuses} == {"applied"}

    if folder.parent.name == "atuin-scripts":
        before = dump(db_path)
        with pytest.raises(MigrationFailedError, match="statement 1") as info:
            await revert_migrations(db_url, folder, target_version=0)
        assert info.value.version == 20250402170430
        assert info.value.at_version == 20250402170430
        assert dump(db_path) == before  # failed cleanly: nothing changed
        return
    reverted = await revert_migrations(db_url, folder, target_version=0)
    expected = [m.version for m in migrations if m.kind == "reversible" and m.version > 0]
    assert [r.version for r in reverted] == sorted(expected, reverse=True)
    assert {r[0] for r in tracking_rows(db_path)} == {
        m.version for m in migrations if m.version not in expected
    }
    integrity(db_path)


async def test_tracking_table_is_sqlx_exact(db_url: DatabaseUrl, db_path: Path) -> None:
    await run_migrations(db_url, SQLX / "tests" / "sqlite" / "migrations")
    conn = sqlite3.connect(db_path)
    [(sql,)] = conn.execute(
        "SELECT sql FROM sqlite_schema WHERE name = '_sqlx_migrations'"
    ).fetchall()
    # SQLite stores the statement as written, minus "IF NOT EXISTS" and the semicolon.
    assert sql == SQLX_DDL.strip().replace(" IF NOT EXISTS", "").rstrip(";")
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)


async def test_statement_three_of_five_leaves_no_trace(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = write_folder(
        tmp_path / "m",
        {
            "1_base.sql": "create table kept (x);\n",
            "2_broken.sql": (
                "create table a (x);\n"
                "insert into a values (1);\n"
                "insert into nope values (2);\n"
                "create table b (x);\n"
                "insert into b values (3);\n"
            ),
        },
    )
    with pytest.raises(MigrationFailedError) as info:
        await run_migrations(db_url, folder)
    error = info.value
    assert error.statement == "statement 3: insert into nope values (2)"
    assert (error.version, error.at_version) == (2, 1)
    assert error.path.endswith("2_broken.sql")
    conn = sqlite3.connect(db_path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    assert tables == {"_sqlx_migrations", "kept"}
    assert [r[0] for r in tracking_rows(db_path)] == [1]
    assert [s.status for s in await migration_status(db_url, folder)] == ["applied", "pending"]


async def test_info_never_creates_the_file_or_the_table(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = SQLX / "tests" / "sqlite" / "migrations"
    statuses = await migration_status(db_url, folder)
    assert [s.status for s in statuses] == ["pending"] * 3
    assert not file_bytes(db_path)
    sqlite3.connect(db_path).execute("create table other (x)").connection.commit()
    before = file_bytes(db_path)
    assert [s.status for s in await migration_status(db_url, folder)] == ["pending"] * 3
    assert file_bytes(db_path) == before


async def test_database_migrated_by_sqlx_is_continued(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    """A database in the state sqlx leaves it (same DDL, rows, checksums) is continued."""
    folder = SQLX / "tests" / "sqlite" / "migrations"
    first = load_migrations(folder)[0]
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute(SQLX_DDL)
    conn.execute("BEGIN")
    for statement in first.up_sql.split(";")[:-1]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)"
        " VALUES (?, ?, TRUE, ?, 1234)",
        (first.version, first.description, hashlib.sha384(first.path.read_bytes()).digest()),
    )
    conn.execute("COMMIT")
    conn.close()
    statuses = await migration_status(db_url, folder)
    assert [s.status for s in statuses] == ["applied", "pending", "pending"]
    assert [r.version for r in await run_migrations(db_url, folder)] == [2, 3]
    assert tracking_rows(db_path)[0][4] == 1234


async def test_dirty_row_is_refused(tmp_path: Path, db_url: DatabaseUrl, db_path: Path) -> None:
    folder = SQLX / "tests" / "sqlite" / "migrations"
    await run_migrations(db_url, folder, target_version=1)
    sqlite3.connect(db_path, isolation_level=None).execute(
        "UPDATE _sqlx_migrations SET success = FALSE"
    )
    with pytest.raises(DirtyDatabaseError, match="migration 1 is partially applied"):
        await run_migrations(db_url, folder)
    with pytest.raises(DirtyDatabaseError):
        await revert_migrations(db_url, folder)
    assert next(s.status for s in await migration_status(db_url, folder)) == "failed"


async def test_missing_file_is_refused_unless_ignored(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = write_folder(tmp_path / "m", {"1_a.sql": "create table a(x);", "2_b.sql": "select 1;"})
    await run_migrations(db_url, folder, target_version=1)
    (folder / "1_a.sql").unlink()
    with pytest.raises(MissingMigrationError, match="migration 1 \\(a\\)") as info:
        await run_migrations(db_url, folder)
    assert info.value.hint and "--ignore-missing" in info.value.hint
    assert [r.version for r in await run_migrations(db_url, folder, ignore_missing=True)] == [2]
    statuses = await migration_status(db_url, folder)
    assert [(s.version, s.status) for s in statuses] == [(1, "missing"), (2, "applied")]


async def test_changed_checksum_is_refused_and_restamp_accepts_crlf(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = write_folder(tmp_path / "m", {"1_a.sql": "create table a(x);\nselect 1;\n"})
    await run_migrations(db_url, folder)
    path = folder / "1_a.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    with pytest.raises(ChecksumMismatchError, match="only its line endings") as info:
        await run_migrations(db_url, folder)
    assert info.value.hint and "migrate restamp 1" in info.value.hint
    assert [s.status for s in await migration_status(db_url, folder)] == ["modified"]
    old, new = await restamp_migration(db_url, folder, SqlxSettings(), 1)
    assert old == hashlib.sha384(b"create table a(x);\nselect 1;\n").digest()
    assert new == hashlib.sha384(path.read_bytes()).digest() == tracking_rows(db_path)[0][3]
    assert await run_migrations(db_url, folder) == []

    path.write_bytes(b"create table a(y);\n")
    with pytest.raises(ChecksumMismatchError) as info:
        await run_migrations(db_url, folder)
    assert "only its" not in info.value.message


async def test_target_versions_and_dry_run(tmp_path: Path, db_url: DatabaseUrl) -> None:
    folder = SQLX / "sqlx-cli" / "tests" / "migrations_reversible"
    versions = [m.version for m in load_migrations(folder)]
    dry = await run_migrations(db_url, folder, target_version=versions[2], dry_run=True)
    assert [r.version for r in dry] == versions[:3]
    assert not (tmp_path / "app.db").exists()
    assert [
        r.version for r in await run_migrations(db_url, folder, target_version=versions[2])
    ] == (versions[:3])
    with pytest.raises(MigrationError, match="older than the latest applied"):
        await run_migrations(db_url, folder, target_version=versions[1])
    with pytest.raises(MigrationError, match="not in the migrations folder"):
        await run_migrations(db_url, folder, target_version=42)
    assert [r.version for r in await revert_migrations(db_url, folder, dry_run=True)] == [
        versions[2]
    ]
    assert [r.version for r in await revert_migrations(db_url, folder)] == [versions[2]]
    reverted = await revert_migrations(db_url, folder, target_version=0)
    assert [r.direction for r in reverted] == ["down", "down"]
    assert await revert_migrations(db_url, folder) == []


async def test_up_without_down_file_refuses_revert(tmp_path: Path, db_url: DatabaseUrl) -> None:
    folder = write_folder(tmp_path / "m", {"1_a.up.sql": "create table a(x);"})
    await run_migrations(db_url, folder)
    with pytest.raises(MigrationError, match="has no down file"):
        await revert_migrations(db_url, folder)


async def test_foreign_keys_pragma_runs_as_sqlx_and_warns(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = write_folder(
        tmp_path / "m",
        {
            "1_parent.sql": "create table p (id integer primary key);\n"
            "create table c (pid integer references p(id) on delete cascade);\n"
            "insert into p values (1); insert into c values (1);\n",
            "2_rebuild.sql": "PRAGMA foreign_keys=OFF;\ndelete from p;\n",
        },
    )
    events: list[MigrationEvent] = []
    results = await run_migrations(db_url, folder, on_event=events.append)
    assert results[1].warnings and "no effect" in results[1].warnings[0]
    assert [e.kind for e in events if e.version == 2] == ["warning", "started", "finished"]
    # Foreign keys stayed on, as under sqlx: the cascade emptied the child table.
    assert sqlite3.connect(db_path).execute("select count(*) from c").fetchone() == (0,)


async def test_transaction_control_refused_before_anything_runs(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = write_folder(
        tmp_path / "m",
        {"1_ok.sql": "create table a(x);", "2_bad.sql": "create table b(x);\nCOMMIT;\n"},
    )
    with pytest.raises(MigrationError, match="statement 2: COMMIT"):
        await run_migrations(db_url, folder)
    assert not await asyncio.to_thread(db_path.exists)  # refused before it was created


async def test_no_transaction_file_runs_vacuum(tmp_path: Path, db_url: DatabaseUrl) -> None:
    folder = write_folder(
        tmp_path / "m",
        {"1_a.sql": "create table a(x);", "2_v.sql": "-- no-transaction\nVACUUM;\n"},
    )
    assert [r.version for r in await run_migrations(db_url, folder)] == [1, 2]
    assert [s.status for s in await migration_status(db_url, folder)] == ["applied"] * 2


@pytest.mark.parametrize("mode", ["delete", "wal"])
def test_runs_leave_the_journal_mode_as_the_file_had_it(tmp_path: Path, mode: str) -> None:
    # Runs change the connection's sync level only: the file keeps its journal mode and
    # no journal is left beside it.
    db_path = tmp_path / "app.db"
    setup = sqlite3.connect(db_path)
    setup.execute(f"PRAGMA journal_mode={mode}")
    setup.execute("CREATE TABLE existing (x)")
    setup.close()
    folder = write_folder(
        tmp_path / "m",
        {
            "1_a.up.sql": "CREATE TABLE a (x);\nINSERT INTO a VALUES (1);\n",
            "1_a.down.sql": "DROP TABLE a;\n",
            "2_b.up.sql": "CREATE TABLE b (x);\n",
            "2_b.down.sql": "DROP TABLE b;\n",
        },
    )
    url = DatabaseUrl("sqlite", db_path, None, str(db_path))
    assert len(runner.run_migrations(url, folder)) == 2
    assert len(runner.revert_migrations(url, folder)) == 1
    check = sqlite3.connect(db_path)
    try:
        assert check.execute("PRAGMA journal_mode").fetchone() == (mode,)
    finally:
        check.close()
    assert not Path(f"{db_path}-journal").exists()
    assert [r[0] for r in tracking_rows(db_path)] == [1]
    integrity(db_path)


def _three_tables(tmp_path: Path) -> Path:
    return write_folder(
        tmp_path / "m",
        {f"{v}_{name}.sql": f"CREATE TABLE {name} (x);\n" for v, name in enumerate("abc", 1)},
    )


def test_run_skips_what_another_runner_applied_after_the_plan(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    # The other runner commits between this run's plan and its first lock, so the
    # tracking table must be read again under the lock instead of trusted from the plan.
    folder = _three_tables(tmp_path)
    others: list[list[int]] = []

    def interleave(event: MigrationEvent) -> None:
        if event.kind == "started" and not others:
            others.append(
                [r.version for r in runner.run_migrations(db_url, folder, target_version=2)]
            )

    applied = runner.run_migrations(db_url, folder, on_event=interleave)
    assert others == [[1, 2]]
    assert [r.version for r in applied] == [3]
    assert [row[0] for row in tracking_rows(db_path)] == [1, 2, 3]
    integrity(db_path)


def test_run_refuses_a_dirty_row_written_after_the_plan(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = _three_tables(tmp_path)
    runner.run_migrations(db_url, folder, target_version=1)

    def mark_failed(event: MigrationEvent) -> None:
        if event.kind == "started":
            with sqlite3.connect(db_path) as other:
                other.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 1")
            other.close()

    with pytest.raises(DirtyDatabaseError, match="migration 1 is partially applied"):
        runner.run_migrations(db_url, folder, on_event=mark_failed)
    assert [row[0] for row in tracking_rows(db_path)] == [1]
    assert sqlite3.connect(db_path).execute(
        "SELECT count(*) FROM sqlite_schema WHERE name IN ('b', 'c')"
    ).fetchone() == (0,)


def test_run_times_every_migration_it_applied(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    # Rows are inserted with -1 and their times written after the commits, as sqlx does.
    folder = _three_tables(tmp_path)
    results = runner.run_migrations(db_url, folder)
    times = {row[0]: row[4] for row in tracking_rows(db_path)}
    assert times == {r.version: r.duration_ns for r in results}
    assert all(isinstance(ns, int) and ns > 0 for ns in times.values())


def test_a_migration_may_turn_the_database_to_wal(tmp_path: Path, db_path: Path) -> None:
    # The run commits through a truncated rollback journal; switching back to the
    # default at the end must not undo a migration's own switch to WAL.
    wal = "-- no-transaction\nPRAGMA journal_mode=WAL;\n"
    folder = write_folder(tmp_path / "m", {"1_a.sql": "CREATE TABLE a (x);\n", "2_wal.sql": wal})
    url = DatabaseUrl("sqlite", db_path, None, str(db_path))
    assert [r.version for r in runner.run_migrations(url, folder)] == [1, 2]
    check = sqlite3.connect(db_path)
    try:
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        check.close()
    assert not Path(f"{db_path}-journal").exists()


def test_a_no_transaction_files_own_transaction_fails_cleanly_when_locked(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    # Inside a transaction the file opened itself, SQLite answers SQLITE_BUSY at once
    # where waiting could deadlock: the statement fails, the file's transaction is rolled
    # back, and the other writer gets its commit through.
    slow = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000000)"
    base = "CREATE TABLE t (x);\nCREATE TABLE other (y);\nINSERT INTO t VALUES (0);\n"
    batch = (
        f"-- no-transaction\nBEGIN;\nSELECT count(*) FROM t, ({slow} SELECT i FROM c);\n"
        "INSERT INTO t VALUES (1);\nCOMMIT;\n"
    )
    folder = write_folder(tmp_path / "m", {"1_base.sql": base, "2_batch.sql": batch})
    runner.run_migrations(db_url, folder, target_version=1)
    outcome: list[str] = []

    def other_writer() -> None:
        # Once the file's long SELECT holds its shared lock (the runner's check before the
        # file holds a lock for a moment only), the write lock is taken before the file's
        # INSERT.
        wait_until_refused(db_path, "BEGIN EXCLUSIVE", held_for=0.1)
        conn = sqlite3.connect(db_path, isolation_level=None, timeout=10)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO other VALUES (1)")
        conn.execute("COMMIT")
        outcome.append("committed")
        conn.close()

    writer = threading.Thread(target=other_writer)

    def start_writer(event: MigrationEvent) -> None:
        if event.kind == "started" and event.version == 2:
            writer.start()

    with pytest.raises(MigrationFailedError, match="database is locked"):
        runner.run_migrations(db_url, folder, on_event=start_writer)
    writer.join()
    # Had the file waited for the write lock instead, the writer's commit would have given
    # up after its 10 s, waiting in turn for the file's shared lock.
    assert outcome == ["committed"]
    assert [row[0] for row in tracking_rows(db_path)] == [1]
    check = sqlite3.connect(db_path)
    assert check.execute("SELECT x FROM t").fetchall() == [(0,)]
    check.close()


def test_a_no_transaction_files_own_commit_waits_for_a_reader(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    # Its COMMIT must wait for a reader to finish, as under sqlx, not fail after the
    # short spells the engine's own lock waits are made of.
    batch = (
        "-- no-transaction\nBEGIN;\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\nCOMMIT;\n"
    )
    folder = write_folder(
        tmp_path / "m", {"1_base.sql": "CREATE TABLE t (x);\n", "2_batch.sql": batch}
    )
    runner.run_migrations(db_url, folder, target_version=1)
    reader = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchall()  # holds a shared lock

    def finish_once_the_commit_waits() -> None:
        wait_until_refused(db_path, "SELECT count(*) FROM t")  # a commit waits for readers
        time.sleep(5 * LOCK_POLL_MS / 1000)  # longer than several of the short spells
        reader.execute("COMMIT")

    finish = threading.Thread(target=finish_once_the_commit_waits)

    def start_finisher(event: MigrationEvent) -> None:
        if event.kind == "started" and event.version == 2:
            finish.start()

    applied = runner.run_migrations(db_url, folder, on_event=start_finisher)
    finish.join()
    assert [r.version for r in applied] == [2]
    reader.close()
    assert [row[0] for row in tracking_rows(db_path)] == [1, 2]
