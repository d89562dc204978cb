"""Tests `migrate baseline` on PostgreSQL: adopting a database built by hand (psql)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pg_migrate_helpers import run_cli, tables, write_folder
from pgkit import query, run_sql

from dbinspect.migrate.source import load_migrations

FILES = {
    "0001_users.sql": "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);\n",
    "0002_users_name.sql": "CREATE INDEX users_name ON users (name);\n",
    "0003_posts.sql": "CREATE TABLE posts (id bigint PRIMARY KEY, user_id bigint);\n",
}


def rows(url: str) -> list[tuple[object, ...]]:
    return query(
        url,
        "SELECT version, description, success, checksum, execution_time, installed_on IS NOT NULL "
        "FROM _sqlx_migrations ORDER BY version",
    )


def test_baseline_adopts_a_hand_built_database_and_run_applies_only_newer_files(
    pg_url: str, tmp_path: Path
) -> None:
    folder = write_folder(tmp_path / "migrations", dict(FILES))
    run_sql(pg_url, FILES["0001_users.sql"] + FILES["0002_users_name.sql"])
    done = run_cli("migrate", "baseline", "2", "--check", "-y", pg_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Schema matches the migrations up to 2" in done.stdout
    assert "  1/baseline users\n  2/baseline users name\n" in done.stdout
    checksums = {m.version: m.checksum for m in load_migrations(folder)}
    assert rows(pg_url) == [
        (1, "users", True, checksums[1], 0, True),
        (2, "users name", True, checksums[2], 0, True),
    ]
    assert checksums[1] == hashlib.sha384(FILES["0001_users.sql"].encode()).digest()

    ran = run_cli("migrate", "run", pg_url, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("Applied 3/migrate posts")
    assert "1/migrate" not in ran.stdout
    assert {"users", "posts", "_sqlx_migrations"} <= tables(pg_url)
    assert [r[0] for r in rows(pg_url)] == [1, 2, 3]


def test_baseline_refuses_rows_and_a_terminal_less_confirmation(
    pg_url: str, tmp_path: Path
) -> None:
    write_folder(tmp_path / "migrations", dict(FILES))
    run_sql(pg_url, FILES["0001_users.sql"])
    asked = run_cli("migrate", "baseline", "1", pg_url, cwd=tmp_path)
    assert asked.returncode == 1
    assert asked.stderr.startswith("error: confirmation needed but standard input is not a")
    assert "_sqlx_migrations" not in tables(pg_url)
    assert run_cli("migrate", "baseline", "1", "-y", pg_url, cwd=tmp_path).returncode == 0
    again = run_cli("migrate", "baseline", "2", "-y", pg_url, cwd=tmp_path)
    assert again.returncode == 1
    assert "_sqlx_migrations already has 1 row(s)" in again.stderr
    assert [r[0] for r in rows(pg_url)] == [1]


def test_baseline_check_refuses_a_drifted_schema(pg_url: str, tmp_path: Path) -> None:
    write_folder(tmp_path / "migrations", dict(FILES))
    run_sql(pg_url, "CREATE TABLE users (id bigint PRIMARY KEY, name varchar(20));\n")
    done = run_cli("migrate", "baseline", "2", "--check", "-y", pg_url, cwd=tmp_path)
    assert done.returncode == 1
    assert "The database differs from the migrations up to 2:" in done.stderr
    assert "  changed table public.users: columns" in done.stderr
    assert "  missing index public.users_name" in done.stderr
    assert "error: the schema differs from the migrations up to 2" in done.stderr
    assert "_sqlx_migrations" not in tables(pg_url)
