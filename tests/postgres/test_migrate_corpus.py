"""Tests real projects' PostgreSQL migrations (sqlx's own, atuin's) on the real server.

Each applies as sqlx applies it, into sqlx's exact tracking table, and reverts where it
is reversible.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

import pytest
from pg_migrate_helpers import ATUIN_POSTGRES, SQLX_POSTGRES, tables, tracking_rows
from pgkit import database_url, query, run_sql

from dbinspect.migrate import load_migrations
from dbinspect.migrate.runner import migration_status, revert_migrations, run_migrations
from dbinspect.url import parse_url

FOLDERS = [
    SQLX_POSTGRES / "migrations",
    SQLX_POSTGRES / "migrations_reversible",
    SQLX_POSTGRES / "migrations_simple",
    ATUIN_POSTGRES,
]
SQLX_COLUMNS = [
    ("version", "bigint", "NO", None),
    ("description", "text", "NO", None),
    ("installed_on", "timestamp with time zone", "NO", "now()"),
    ("success", "boolean", "NO", None),
    ("checksum", "bytea", "NO", None),
    ("execution_time", "bigint", "NO", None),
]


def _corpus(folder: Path) -> Path:
    if not folder.is_dir():
        pytest.skip(f"corpus folder missing: {folder}")
    return folder


def test_every_sqlx_postgres_folder_is_covered() -> None:
    found = {p.name for p in _corpus(SQLX_POSTGRES).glob("migrations*")}
    assert found == {f.name for f in FOLDERS if f.parent == SQLX_POSTGRES} | {"migrations_no_tx"}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: "/".join(p.parts[-2:]))
def test_corpus_folder_applies_and_reverts(folder: Path, pg_url: str) -> None:
    folder = _corpus(folder)
    url = parse_url(pg_url)
    migrations = load_migrations(folder)
    results = run_migrations(url, folder)
    assert [r.version for r in results] == [m.version for m in migrations]
    rows = tracking_rows(pg_url)
    assert [r[:3] for r in rows] == [(m.version, m.description, True) for m in migrations]
    for row, migration, result in zip(rows, migrations, results, strict=True):
        # The checksum is the SHA-384 of the file's bytes, as sqlx stores it.
        assert row[3] == hashlib.sha384(migration.path.read_bytes()).digest()
        # The time written afterwards is the one reported, in nanoseconds (a round trip
        # to the server alone takes more than 10 µs).
        assert row[4] == result.duration_ns and result.duration_ns > 10_000
    assert run_migrations(url, folder) == []  # applying twice is a no-op
    assert {s.status for s in migration_status(url, folder)} == {"applied"}

    reversible = [m.version for m in migrations if m.kind == "reversible"]
    reverted = revert_migrations(url, folder, target_version=0)
    assert [r.version for r in reverted] == sorted(reversible, reverse=True)
    left = {r[0] for r in tracking_rows(pg_url)}
    assert left == {m.version for m in migrations} - set(reversible)
    if reversible:  # the down files undid the up files: only the tracking table is left
        assert tables(pg_url) == {"_sqlx_migrations"}
        assert run_migrations(url, folder) != []  # and they apply again


def test_reversible_corpus_steps_down_one_at_a_time(pg_url: str) -> None:
    folder = _corpus(SQLX_POSTGRES / "migrations_reversible")
    url = parse_url(pg_url)
    run_migrations(url, folder)
    assert query(pg_url, "SELECT some_payload FROM migrations_reversible_test") == [(101,)]
    [first] = revert_migrations(url, folder)
    assert first.version == 20220721125033
    assert query(pg_url, "SELECT some_payload FROM migrations_reversible_test") == [(100,)]


def test_tracking_table_is_sqlx_exact(pg_url: str) -> None:
    run_migrations(parse_url(pg_url), _corpus(SQLX_POSTGRES / "migrations_simple"))
    columns = query(
        pg_url,
        "SELECT column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = '_sqlx_migrations' ORDER BY ordinal_position",
    )
    assert columns == SQLX_COLUMNS
    key = query(
        pg_url,
        "SELECT k.column_name FROM information_schema.table_constraints c "
        "JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name) "
        "WHERE c.table_name = '_sqlx_migrations' AND c.constraint_type = 'PRIMARY KEY'",
    )
    assert key == [("version",)]
    # Nothing more than sqlx makes: no other index, constraint or trigger.
    assert query(
        pg_url, "SELECT count(*) FROM pg_indexes WHERE tablename = '_sqlx_migrations'"
    ) == [(1,)]


def test_a_database_sqlx_migrated_is_continued(pg_url: str, tmp_path: Path) -> None:
    # The tracking table exactly as sqlx's DDL makes it, with sqlx's row for the first file.
    folder = _corpus(SQLX_POSTGRES / "migrations_simple")
    first, second = load_migrations(folder)
    run_sql(
        pg_url,
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, "
        "description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), "
        "success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);\n"
        + first.up_sql,
    )
    query(
        pg_url,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, "
        "execution_time) VALUES (%s, %s, TRUE, %s, 1234) RETURNING version",
        (first.version, first.description, first.checksum),
    )
    results = run_migrations(parse_url(pg_url), folder)
    assert [r.version for r in results] == [second.version]
    assert query(pg_url, "SELECT some_payload FROM migrations_simple_test") == [("110_suffix",)]


def test_no_transaction_corpus_creates_its_database(pg_url: str, tmp_path: Path) -> None:
    # sqlx's file creates `test_db`, a fixed name every run would share: the copy creates a
    # name of its own instead, so that runs side by side cannot collide.
    source = _corpus(SQLX_POSTGRES / "migrations_no_tx")
    folder = Path(shutil.copytree(source, tmp_path / "migrations_no_tx"))
    name = f"dbi_test_nt_{uuid.uuid4().hex[:12]}"
    [path] = folder.iterdir()
    text = path.read_text()
    assert text.startswith("-- no-transaction") and "CREATE DATABASE test_db;" in text
    path.write_text(text.replace("test_db", name))
    try:
        [result] = run_migrations(parse_url(pg_url), folder)
        assert result.version == 0
        assert query(pg_url, "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)) == [
            (1,)
        ]
        [row] = tracking_rows(pg_url)
        assert row[:3] == (0, "create db", True)
        assert row[4] == result.duration_ns
    finally:
        run_sql(database_url("postgres"), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
