"""Tests the SQLite engine's refusals and options on PostgreSQL, through the store seam.

Dirty, missing, modified and duplicate migrations are refused before anything is written;
restamp, --dry-run, --target-version and `revert --target-version 0` work as on SQLite;
sqlx.toml's `table-name` may name a schema, and a name that is not one is refused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pg_migrate_helpers import run_cli, tables, tracking_rows, write_folder
from pgkit import query, run_sql

from dbinspect.config import SqlxSettings
from dbinspect.errors import (
    ChecksumMismatchError,
    DirtyDatabaseError,
    MigrationError,
    MigrationSourceError,
    MissingMigrationError,
)
from dbinspect.migrate.runner import (
    migration_status,
    restamp_migration,
    revert_migrations,
    run_migrations,
)
from dbinspect.url import parse_url

REVERSIBLE = {
    "1_users.up.sql": "CREATE TABLE users (id int PRIMARY KEY);\n",
    "1_users.down.sql": "DROP TABLE users;\n",
    "2_posts.up.sql": "CREATE TABLE posts (id int PRIMARY KEY);\n",
    "2_posts.down.sql": "DROP TABLE posts;\n",
    "3_tags.up.sql": "CREATE TABLE tags (id int PRIMARY KEY);\n",
    "3_tags.down.sql": "DROP TABLE tags;\n",
}


def snapshot(url: str) -> tuple[object, ...]:
    """The tables and every tracking row: equal snapshots mean nothing was written."""
    return (tables(url), tracking_rows(url))


def test_a_dirty_row_is_refused(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "migrations", REVERSIBLE)
    url = parse_url(pg_url)
    run_migrations(url, folder, target_version=1)
    run_sql(pg_url, "UPDATE _sqlx_migrations SET success = FALSE")  # as a failed sqlx run
    before = snapshot(pg_url)
    with pytest.raises(DirtyDatabaseError, match="migration 1 is partially applied"):
        run_migrations(url, folder)
    with pytest.raises(DirtyDatabaseError):
        revert_migrations(url, folder)
    assert [s.status for s in migration_status(url, folder)] == ["failed", "pending", "pending"]
    result = run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: migration 1 is partially applied")
    assert snapshot(pg_url) == before


def test_a_missing_file_is_refused_unless_ignored(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "m", {"1_a.sql": "CREATE TABLE a (x int);\n", "2_b.sql": "SELECT 1;\n"}
    )
    url = parse_url(pg_url)
    run_migrations(url, folder, target_version=1)
    (folder / "1_a.sql").unlink()
    before = snapshot(pg_url)
    with pytest.raises(MissingMigrationError, match=r"migration 1 \(a\)") as caught:
        run_migrations(url, folder)
    assert caught.value.hint and "--ignore-missing" in caught.value.hint
    assert snapshot(pg_url) == before
    assert [r.version for r in run_migrations(url, folder, ignore_missing=True)] == [2]
    statuses = migration_status(url, folder)
    assert [(s.version, s.status) for s in statuses] == [(1, "missing"), (2, "applied")]


def test_a_modified_file_is_refused_and_restamp_accepts_it(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "migrations", {"1_a.sql": "CREATE TABLE a (x int);\n"})
    url = parse_url(pg_url)
    run_migrations(url, folder)
    path = folder / "1_a.sql"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    with pytest.raises(ChecksumMismatchError, match="only its line endings") as caught:
        run_migrations(url, folder)
    assert caught.value.hint and "migrate restamp 1" in caught.value.hint
    assert [s.status for s in migration_status(url, folder)] == ["modified"]

    info = run_cli("migrate", "info", "-D", pg_url, cwd=tmp_path)
    assert info.stdout.splitlines()[0] == "1/installed (different checksum) a"
    old, new = restamp_migration(url, folder, SqlxSettings(), 1)
    assert old == hashlib.sha384(b"CREATE TABLE a (x int);\n").digest()
    assert new == hashlib.sha384(path.read_bytes()).digest() == tracking_rows(pg_url)[0][3]
    assert run_migrations(url, folder) == []

    path.write_bytes(b"CREATE TABLE a (y int);\n")
    with pytest.raises(ChecksumMismatchError) as caught:
        run_migrations(url, folder)
    assert "only its" not in caught.value.message
    restamp = run_cli("migrate", "restamp", "1", "--yes", "-D", pg_url, cwd=tmp_path)
    assert restamp.returncode == 0, restamp.stderr
    assert restamp.stdout.splitlines()[-1] == "Restamped 1/migrate a"
    assert tracking_rows(pg_url)[0][3] == hashlib.sha384(b"CREATE TABLE a (y int);\n").digest()


def test_duplicate_versions_are_refused(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "migrations",
        {"1_a.sql": "CREATE TABLE a (x int);\n", "1_b.sql": "CREATE TABLE b (x int);\n"},
    )
    with pytest.raises(MigrationSourceError, match="duplicate migration version 1"):
        run_migrations(parse_url(pg_url), folder)
    result = run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and "duplicate migration version 1" in line
    assert tables(pg_url) == set()


def test_dry_run_writes_nothing_not_even_the_tracking_table(pg_url: str, tmp_path: Path) -> None:
    write_folder(tmp_path / "migrations", REVERSIBLE)
    result = run_cli("migrate", "run", "--dry-run", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line.split(" (")[0] for line in result.stdout.splitlines()] == [
        "Can apply 1/migrate users",
        "Can apply 2/migrate posts",
        "Can apply 3/migrate tags",
    ]
    assert tables(pg_url) == set()
    run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    before = snapshot(pg_url)
    dry = run_cli("migrate", "revert", "--dry-run", "--target-version", "0", "-D", pg_url,
                  cwd=tmp_path)  # fmt: skip
    assert [line.split(" (")[0] for line in dry.stdout.splitlines()] == [
        "Can apply 3/revert tags",
        "Can apply 2/revert posts",
        "Can apply 1/revert users",
    ]
    assert snapshot(pg_url) == before


def test_target_versions(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "migrations", REVERSIBLE)
    url = parse_url(pg_url)
    assert [r.version for r in run_migrations(url, folder, target_version=2)] == [1, 2]
    assert tables(pg_url) == {"_sqlx_migrations", "users", "posts"}
    with pytest.raises(MigrationError, match="older than the latest applied"):
        run_migrations(url, folder, target_version=1)
    with pytest.raises(MigrationError, match="not in the migrations folder"):
        run_migrations(url, folder, target_version=42)
    assert [r.version for r in revert_migrations(url, folder)] == [2]  # one step by default
    assert [r.version for r in run_migrations(url, folder)] == [2, 3]

    result = run_cli("migrate", "revert", "--target-version", "1", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [line.split(" (")[0] for line in result.stdout.splitlines()] == [
        "Applied 3/revert tags",
        "Applied 2/revert posts",
        "Skipped 1/revert users",  # as sqlx-cli names what it leaves applied
    ]
    assert [r[0] for r in tracking_rows(pg_url)] == [1]
    result = run_cli("migrate", "revert", "--target-version", "0", "-D", pg_url, cwd=tmp_path)
    assert result.stdout.splitlines()[0].startswith("Applied 1/revert users")
    assert tables(pg_url) == {"_sqlx_migrations"}
    assert tracking_rows(pg_url) == []
    again = run_cli("migrate", "revert", "-D", pg_url, cwd=tmp_path)
    assert again.stdout == "No migrations available to revert\n"


def test_info_creates_nothing(pg_url: str, tmp_path: Path) -> None:
    write_folder(tmp_path / "migrations", REVERSIBLE)
    info = run_cli("migrate", "info", "-D", pg_url, cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert info.stdout.splitlines() == ["1/pending users", "2/pending posts", "3/pending tags"]
    assert tables(pg_url) == set()


# --- sqlx.toml's table-name ------------------------------------------------------------------


def _project(tmp_path: Path, table_name: str) -> None:
    toml = table_name.replace("\\", "\\\\").replace('"', '\\"')
    (tmp_path / "sqlx.toml").write_text(f'[migrate]\ntable-name = "{toml}"\n', encoding="utf-8")
    write_folder(tmp_path / "migrations", REVERSIBLE)


@pytest.mark.parametrize(
    ("table_name", "schema", "created"),
    [
        ("history.migrations", "history", "migrations"),
        ('"Odd Schema"."my-migrations"', "Odd Schema", "my-migrations"),
        ("my_migrations", "public", "my_migrations"),
    ],
)
def test_a_schema_qualified_table_name_is_used_everywhere(
    pg_url: str, tmp_path: Path, table_name: str, schema: str, created: str
) -> None:
    if schema != "public":
        run_sql(pg_url, 'CREATE SCHEMA "' + schema.replace('"', '""') + '"')
    _project(tmp_path, table_name)
    run = run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("Applied") == 3
    assert tables(pg_url, schema) >= {created}
    assert "_sqlx_migrations" not in tables(pg_url)
    assert [r[0] for r in tracking_rows(pg_url, table_name)] == [1, 2, 3]
    columns = query(
        pg_url,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema, created),
    )
    assert [c[0] for c in columns] == [
        "version", "description", "installed_on", "success", "checksum", "execution_time",
    ]  # fmt: skip
    info = run_cli("migrate", "info", "-D", pg_url, cwd=tmp_path)
    assert info.stdout.splitlines() == [
        "1/installed users",
        "2/installed posts",
        "3/installed tags",
    ]
    revert = run_cli("migrate", "revert", "-D", pg_url, cwd=tmp_path)
    assert revert.stdout.startswith("Applied 3/revert tags")
    assert [r[0] for r in tracking_rows(pg_url, table_name)] == [1, 2]


def test_a_table_name_in_a_missing_schema_is_one_line(pg_url: str, tmp_path: Path) -> None:
    _project(tmp_path, "nowhere.migrations")
    result = run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "cannot create the tracking table" in line and 'schema "nowhere"' in line
    assert tables(pg_url) == set()


@pytest.mark.parametrize(
    "table_name",
    ["x; drop table t", "x --", "my-migrations", "select", "a.b.c", "t (x int); --", ""],
)
@pytest.mark.parametrize("command", ["run", "info", "revert"])
def test_a_hostile_table_name_is_refused_before_connecting(
    pg_url: str, tmp_path: Path, table_name: str, command: str
) -> None:
    run_sql(pg_url, "CREATE TABLE t (x int)")
    _project(tmp_path, table_name)
    result = run_cli("migrate", command, "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {tmp_path / 'sqlx.toml'}: table-name {table_name!r}")
    assert "not a table name sqlx can use on PostgreSQL" in line
    assert "Traceback" not in result.stderr
    assert tables(pg_url) == {"t"}


@pytest.mark.parametrize(
    ("columns", "row", "problem"),
    [
        (
            "version bigint, description text, installed_on timestamptz, success boolean, "
            "checksum bytea, execution_time bigint",
            "(1, NULL, NULL, NULL, NULL, NULL)",
            "the checksum of version 1 is NULL",
        ),
        (
            "version int, description text, installed_on text, success text, checksum text, "
            "execution_time text",
            "(1, 'a', 'yesterday', 'yes', 'zz', 'fast')",
            "the checksum of version 1 is a str, not bytes",
        ),
        (
            "version text, description text, installed_on text, success boolean, "
            "checksum bytea, execution_time bigint",
            "('x', 'a', 'now', false, '\\x00', 1)",
            "version 'x' is not an integer",
        ),
    ],
)
def test_a_tracking_table_that_is_not_sqlxs_is_one_line(
    pg_url: str, tmp_path: Path, columns: str, row: str, problem: str
) -> None:
    run_sql(
        pg_url,
        f"CREATE TABLE _sqlx_migrations ({columns}); INSERT INTO _sqlx_migrations VALUES {row}",
    )
    write_folder(tmp_path / "migrations", {"1_a.sql": "CREATE TABLE a (x int);\n"})
    for command in (
        ["migrate", "info"],
        ["migrate", "run"],
        ["migrate", "run", "--dry-run"],
        ["check"],
    ):
        result = run_cli(*command, "--database-url", pg_url, cwd=tmp_path)
        assert result.returncode == 1, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert problem in result.stdout + result.stderr, (command, result.stdout, result.stderr)
    info = run_cli("info", "--database-url", pg_url, cwd=tmp_path)
    assert info.returncode == 0 and "Traceback" not in info.stderr, info.stderr
    assert tables(pg_url) == {"_sqlx_migrations"}  # nothing ran
