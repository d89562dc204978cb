"""Tests `[migrate] table-name` from `sqlx.toml`: what sqlx accepts works, the rest is refused.

sqlx formats the name unquoted into its SQL, so it takes whatever SQLite parses there: a
plain name, `main.name`, or a quoted one. dbinspect must name the same table in every
statement, and refuse before touching the database a name that sqlx's SQL fails on.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from migrate_helpers import write_folder

from dbinspect.config import TrackingTable, tracking_table
from dbinspect.errors import ConfigError
from dbinspect.sqlite_driver import dbapi as sqlite3

RunCli = Callable[..., subprocess.CompletedProcess[str]]
OneLineError = Callable[..., str]

MIGRATIONS = {
    "1_users.up.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY);",
    "1_users.down.sql": "DROP TABLE users;",
    "2_posts.up.sql": "CREATE TABLE posts (id INTEGER PRIMARY KEY);",
    "2_posts.down.sql": "DROP TABLE posts;",
}


@pytest.mark.parametrize(
    ("text", "table"),
    [
        ("_sqlx_migrations", TrackingTable("main", "_sqlx_migrations")),
        ("my_migrations", TrackingTable("main", "my_migrations")),
        ("main.my_migrations", TrackingTable("main", "my_migrations")),
        ("MAIN.My_Migrations", TrackingTable("main", "My_Migrations")),
        ("main . spaced", TrackingTable("main", "spaced")),
        ('"my-migrations"', TrackingTable("main", "my-migrations")),
        ('"main"."my migrations"', TrackingTable("main", "my migrations")),
        ("[bracketed name]", TrackingTable("main", "bracketed name")),
        ("`backticked`", TrackingTable("main", "backticked")),
        ('"main.x"', TrackingTable("main", "main.x")),  # one name holding a dot
        ("temp.runs", TrackingTable("temp", "runs")),
        ("key", TrackingTable("main", "key")),  # a keyword SQLite also takes as a name
    ],
)
def test_names_sqlx_accepts(text: str, table: TrackingTable) -> None:
    assert tracking_table(text) == table


@pytest.mark.parametrize(
    "text",
    [
        "my-migrations",
        "my migrations",
        "other.my_migrations",  # no such schema on a connection sqlx opens
        "select",
        "sqlite_master",
        "x; DROP TABLE users",
        "x --",
        "",
        # Valid CREATE statements that are no name: refused without running their work.
        "x AS SELECT zeroblob(1000000000) /*",
        "x AS WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c /*",
    ],
)
def test_names_sqlx_fails_on_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="not a table name sqlx can use"):
        tracking_table(text)


def test_the_sql_form_is_quoted_and_qualified() -> None:
    table = tracking_table('main."odd ""name"""')
    assert table == TrackingTable("main", 'odd "name"')
    assert table.sql == '"main"."odd ""name"""'
    assert table.catalog == '"main".sqlite_schema'


# --- Through `dbinspect migrate`, on real files --------------------------------------------


def _project(tmp_path: Path, table_name: str) -> Path:
    toml = table_name.replace("\\", "\\\\").replace('"', '\\"')
    (tmp_path / "sqlx.toml").write_text(f'[migrate]\ntable-name = "{toml}"\n', encoding="utf-8")
    write_folder(tmp_path / "migrations", MIGRATIONS)
    return tmp_path / "app.db"


def _tables(db: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY name"
        ).fetchall()
    finally:
        conn.close()


def _versions(db: Path, table: str) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [v for (v,) in conn.execute(f"SELECT version FROM {table} ORDER BY version")]
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("table_name", "created", "ddl_name"),
    [
        ("main.my_migrations", "my_migrations", "my_migrations"),
        ('"my-migrations"', "my-migrations", '"my-migrations"'),
    ],
)
def test_run_info_and_revert_use_exactly_that_table(
    tmp_path: Path, run_cli: RunCli, table_name: str, created: str, ddl_name: str
) -> None:
    db = _project(tmp_path, table_name)
    url = f"sqlite:{db}"
    run = run_cli("migrate", "run", "-D", url)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("Applied") == 2
    tables = dict(_tables(db))
    assert sorted(tables) == sorted([created, "users", "posts"])
    # The table's SQL is sqlx's, with the name as written, as sqlx would have stored it.
    assert tables[created].startswith(f"CREATE TABLE {ddl_name} (\n    version BIGINT")
    quoted = '"' + created + '"'
    assert _versions(db, quoted) == [1, 2]

    info = run_cli("migrate", "info", "-D", url)
    assert info.returncode == 0, info.stderr
    assert info.stdout.splitlines() == ["1/installed users", "2/installed posts"]
    again = run_cli("migrate", "run", "-D", url)
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""

    revert = run_cli("migrate", "revert", "-D", url)
    assert revert.returncode == 0, revert.stderr
    assert revert.stdout.startswith("Applied 2/revert posts")
    assert _versions(db, quoted) == [1]
    assert "posts" not in dict(_tables(db))
    after = run_cli("migrate", "info", "-D", url)
    assert after.stdout.splitlines() == ["1/installed users", "2/pending posts"]


def test_a_name_matches_its_table_whatever_the_letter_case(tmp_path: Path, run_cli: RunCli) -> None:
    # SQLite matches names without regard to ASCII case: so must the lookup of the table,
    # or a renamed-case setting would find no applied migration and apply them all again.
    db = _project(tmp_path, "My_Migrations")
    assert run_cli("migrate", "run", "-D", f"sqlite:{db}").returncode == 0
    (tmp_path / "sqlx.toml").write_text('[migrate]\ntable-name = "main.MY_MIGRATIONS"\n')
    info = run_cli("migrate", "info", "-D", f"sqlite:{db}")
    assert info.stdout.splitlines() == ["1/installed users", "2/installed posts"]
    assert run_cli("migrate", "run", "-D", f"sqlite:{db}").stdout == ""


@pytest.mark.parametrize("table_name", ["my-migrations", "my migrations", "other.runs"])
@pytest.mark.parametrize("command", ["run", "info", "revert"])
def test_a_refused_name_leaves_no_file(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError, table_name: str, command: str
) -> None:
    db = _project(tmp_path, table_name)
    result = run_cli("migrate", command, "-D", f"sqlite:{db}")
    one_line_error(result, str(tmp_path / "sqlx.toml"), repr(table_name))
    assert not db.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["migrations", "sqlx.toml"]


def test_a_refused_name_leaves_an_existing_database_untouched(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    db = _project(tmp_path, "_sqlx_migrations")
    assert run_cli("migrate", "run", "-D", f"sqlite:{db}").returncode == 0
    before = db.read_bytes()
    (tmp_path / "sqlx.toml").write_text('[migrate]\ntable-name = "my-migrations"\n')
    one_line_error(run_cli("migrate", "revert", "-D", f"sqlite:{db}"), "my-migrations")
    assert db.read_bytes() == before
