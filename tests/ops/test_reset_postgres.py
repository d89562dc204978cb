"""`dbinspect reset` on PostgreSQL: refused without --force; with it, a backup, then what
the migrations create (and only that) is dropped and built again."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

from pgkit import SERVER_URL, fresh_database, query, run_sql
from testkit import RunCli

MIGRATION = """
CREATE SCHEMA shop;
CREATE TYPE shop.mood AS ENUM ('sad', 'happy');
CREATE TABLE shop.item (id serial PRIMARY KEY, name text NOT NULL, mood shop.mood);
CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text UNIQUE);
CREATE FUNCTION plus_one(i int) RETURNS int LANGUAGE sql AS 'SELECT i + 1';
CREATE VIEW user_emails AS SELECT email FROM users;
"""
BY_HAND = """
INSERT INTO shop.item (name, mood) VALUES ('a', 'sad'), ('b', 'happy');
INSERT INTO users (email) VALUES ('x@example.com');
CREATE TABLE public.by_hand (x int);
CREATE SCHEMA kept;
CREATE TABLE kept.notes (x int);
INSERT INTO kept.notes VALUES (7);
"""


def tables(url: str) -> list[tuple[object, ...]]:
    return query(
        url,
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2",
    )


def test_reset(
    tmp_path: Path, pg_url: str, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_init.sql").write_text(MIGRATION)
    done = run_cli("migrate", "run", pg_url, "--source", folder)
    assert done.returncode == 0, done.stderr
    migrated = tables(pg_url)
    run_sql(pg_url, BY_HAND)
    before = tables(pg_url)

    one_line_error(
        run_cli("reset", pg_url, "--source", folder), "reset drops every object", "--force"
    )
    assert tables(pg_url) == before
    assert query(pg_url, "SELECT count(*) FROM shop.item") == [(2,)]

    result = run_cli("reset", pg_url, "--source", folder, "--force", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "applied 1 migration(s)" in result.stdout
    for dropped in ("schema shop", "table by_hand", "table users", "function plus_one(integer)"):
        assert dropped in result.stdout
    # What the migrations made is back, empty; `kept` (no migration made it) is untouched;
    # a table made by hand in public, where the migrations make objects, is gone.
    assert tables(pg_url) == sorted([*migrated, ("kept", "notes")])
    assert query(pg_url, "SELECT count(*) FROM shop.item") == [(0,)]
    assert query(pg_url, "SELECT count(*) FROM users") == [(0,)]
    assert query(pg_url, "SELECT x FROM kept.notes") == [(7,)]
    assert query(pg_url, "SELECT version, success FROM _sqlx_migrations") == [(1, True)]
    run_sql(pg_url, "INSERT INTO shop.item (name) VALUES ('c')")
    assert query(pg_url, "SELECT id, plus_one(id) FROM shop.item") == [(1, 2)]

    [backup] = [p for p in tmp_path.iterdir() if p.name.endswith(".dump")]
    assert f"backup: {backup}" in result.stdout
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert backup.read_bytes().startswith(b"PGDMP")
    with fresh_database() as copy:  # the backup holds the database as it was
        try:
            restored = run_cli("restore", backup, copy, "--force", timeout=120)
            assert restored.returncode == 0, restored.stderr
            assert query(copy, "SELECT name FROM shop.item ORDER BY id") == [("a",), ("b",)]
            assert query(copy, "SELECT count(*) FROM by_hand") == [(0,)]
        finally:
            snapshots = query(
                SERVER_URL,
                "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                (copy.rpartition("/")[2] + "_",),
            )
            for (name,) in snapshots:
                run_sql(SERVER_URL, f'DROP DATABASE "{name}" WITH (FORCE)')


def test_reset_without_pg_dump_backs_up_as_json(
    tmp_path: Path, pg_url: str, run_cli: RunCli
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_init.sql").write_text("CREATE TABLE t (id int PRIMARY KEY);\n")
    assert run_cli("migrate", "run", pg_url, "--source", folder).returncode == 0
    run_sql(pg_url, "INSERT INTO t VALUES (1), (2)")
    result = run_cli("reset", pg_url, "--source", folder, "--force",
                     env={"PATH": str(tmp_path)}, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert query(pg_url, "SELECT count(*) FROM t") == [(0,)]
    [backup] = [p for p in tmp_path.iterdir() if p.name.endswith(".json")]
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert '"rows": [' in backup.read_text() and '{"id": "2"}' in backup.read_text()


def test_migrations_failing_on_an_empty_database_leave_it_unchanged(
    pg_url: str, run_cli: RunCli, tmp_path: Path
) -> None:
    # The table `big` was made by hand: no migration creates it, so on an empty
    # database the second migration fails, in the scratch database the reset tries first.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_users.sql").write_text("CREATE TABLE users (id int PRIMARY KEY);\n")
    (folder / "2_alter_big.sql").write_text("ALTER TABLE big ADD COLUMN note text;\n")
    run_sql(pg_url, "CREATE TABLE big (id int); INSERT INTO big VALUES (1)")
    done = run_cli("migrate", "run", pg_url, "--source", str(folder))
    assert done.returncode == 0, done.stderr
    before = tables(pg_url)
    result = run_cli("reset", pg_url, "--force", "--source", str(folder))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    name = pg_url.rsplit("/", 1)[1]
    assert "migration 2 (alter big) failed" in line
    assert f"so nothing was reset and {name} is unchanged" in line
    assert "as it was before this migration" not in line
    assert tables(pg_url) == before
    assert query(pg_url, "SELECT count(*) FROM big") == [(1,)]
    assert not list(tmp_path.glob("*.dump")) and not list(tmp_path.glob("*.json"))
