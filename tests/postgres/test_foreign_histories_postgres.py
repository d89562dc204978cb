"""Other tools' tracking tables on PostgreSQL: recognised, read and shown, never written.

The tables come from each tool's PostgreSQL DDL (tests/foreign_ddl.py); dbmate and knex
also create theirs for real when installed.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from foreign_ddl import POSTGRES
from pgkit import query, run_sql
from testkit import missing_tool

from dbinspect.cli import cli as dbinspect_cli
from dbinspect.migrate.foreign import ForeignHistory, read_histories
from dbinspect.url import parse_url

NPM_DIR = Path(os.environ.get("DBINSPECT_TOOLS_NPM", "/tmp/fnpm"))
"""An npm project with dbmate, knex and pg installed."""


def read(url: str) -> dict[str, ForeignHistory]:
    return {h.tool: h for h in read_histories(parse_url(url))}


def run(*args: str) -> Result:
    return CliRunner().invoke(dbinspect_cli, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "DBINSPECT_MIGRATIONS", "DBINSPECT_OTHER_SOURCE"):
        monkeypatch.delenv(name, raising=False)


def test_dirty_failed_and_rolled_back(pg_url: str) -> None:
    run_sql(pg_url, POSTGRES["golang-migrate"] + ";" + POSTGRES["flyway"] + POSTGRES["prisma"])
    run_sql(
        pg_url,
        """
        INSERT INTO schema_migrations VALUES (20240105, true);
        INSERT INTO flyway_schema_history (installed_rank, version, description, type, script,
            checksum, installed_by, installed_on, execution_time, success) VALUES
            (1, '1', '<< Flyway Baseline >>', 'BASELINE', '<< Flyway Baseline >>', NULL,
             'postgres', '2024-01-01 10:00:00', 0, true),
            (2, '1.1', 'users', 'SQL', 'V1_1__users.sql', 12, 'postgres',
             '2024-01-02 10:00:00', 40, true),
            (3, '2', 'orders', 'SQL', 'V2__orders.sql', 34, 'postgres',
             '2024-01-03 10:00:00', 9, false);
        INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs,
            rolled_back_at, started_at, applied_steps_count) VALUES
            ('a', 'c1', '2024-01-01 10:00:01+00', '20240101000000_init', NULL, NULL,
             '2024-01-01 10:00:00+00', 1),
            ('b', 'c2', NULL, '20240102000000_users', E'Error: P3018\\nline 2',
             '2024-01-02 11:00:00+00', '2024-01-02 10:00:00+00', 0);
        """,
    )
    found = read(pg_url)
    assert list(found) == ["golang-migrate", "Flyway", "Prisma"]

    golang = found["golang-migrate"]
    assert (golang.head, golang.state, golang.entries[0].state) == ("20240105", "dirty", "dirty")

    flyway = found["Flyway"]
    assert flyway.head == "1.1"
    assert [(e.version, e.state, e.detail) for e in flyway.entries] == [
        ("1", "applied", "BASELINE"),
        ("1.1", "applied", "SQL"),
        ("2", "failed", "SQL"),
    ]
    assert flyway.entries[1].applied_at == "2024-01-02 10:00:00"  # a timestamp, as text
    assert flyway.state == "failed" and "V2__orders.sql" in flyway.problems[0]

    prisma = found["Prisma"]
    assert [e.state for e in prisma.entries] == ["applied", "rolled back"]
    assert prisma.entries[1].detail == "Error: P3018"
    assert prisma.head == "20240101000000_init" and prisma.problems == ()

    out = run("migrate", "info", "--other-tools", pg_url).output
    assert "golang-migrate (schema_migrations): head 20240105, dirty" in out
    assert "Flyway (flyway_schema_history): head 1.1, 2 applied, failed" in out
    assert "20240102000000_users/rolled back" in out
    info = json.loads(run("info", "--json", pg_url).output)
    assert [h["state"] for h in info["other_migrations"]] == ["dirty", "failed", "clean"]
    assert "Other migrations:" in run("info", pg_url).output


def test_shared_names_goose_efcore_and_schemas(pg_url: str) -> None:
    run_sql(pg_url, POSTGRES["rails"] + POSTGRES["goose"] + POSTGRES["efcore"])
    run_sql(
        pg_url,
        """
        INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240201000000');
        INSERT INTO ar_internal_metadata VALUES ('environment', 'staging', now(), now());
        INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true),
            (2, true), (2, false);
        INSERT INTO "__EFMigrationsHistory" VALUES ('20240101101010_Initial', '8.0.1');
        CREATE SCHEMA app;
        CREATE TABLE app.__diesel_schema_migrations (
            version VARCHAR(50) PRIMARY KEY NOT NULL,
            run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);
        INSERT INTO app.__diesel_schema_migrations (version) VALUES ('20240101000000');
        """,
    )
    found = read(pg_url)
    assert list(found) == ["Rails", "goose", "EF Core"]  # app is not on the search path
    assert found["Rails"].head == "20240201000000"
    assert "environment: staging" in found["Rails"].notes
    assert found["goose"].head == "1"
    assert [e.state for e in found["goose"].entries] == ["applied", "reverted"]
    assert found["EF Core"].entries[0].name == "Initial"

    run_sql(pg_url, "DROP TABLE ar_internal_metadata")
    assert "dbmate" in read(pg_url)  # the same table without Rails' sibling is dbmate's

    run_sql(pg_url, "ALTER DATABASE " + pg_url.rsplit("/", 1)[1] + " SET search_path = app, public")
    diesel = read(pg_url)["Diesel"]
    assert (diesel.table, diesel.head) == ("app.__diesel_schema_migrations", "20240101000000")


def test_hostile_values_and_no_writes(pg_url: str) -> None:
    run_sql(pg_url, POSTGRES["golang-migrate"] + ";" + POSTGRES["flyway"])
    evil = "\x1b]0;pwned\x07[red]x[/red]"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO flyway_schema_history VALUES (1, %s, %s, 'SQL', %s, 1, 'me', now(), 1,"
            " false)",
            (evil, evil, evil),
        )
    before = query(pg_url, "SELECT * FROM flyway_schema_history")
    out = run("migrate", "info", "--other-tools", pg_url).output
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;pwned\\x07[red]x[/red]/failed" in out
    assert query(pg_url, "SELECT * FROM flyway_schema_history") == before
    # dbinspect's reading session is read-only: its statements could not write.
    assert query(pg_url, "SELECT count(*) FROM schema_migrations") == [(0,)]


def _npm_tool(name: str) -> Path:
    path = NPM_DIR / "node_modules" / ".bin" / name
    if not path.exists():
        missing_tool(f"{name} is not installed in {NPM_DIR}")
    return path


def test_real_dbmate(pg_url: str, tmp_path: Path) -> None:
    dbmate = _npm_tool("dbmate")
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_init.sql").write_text(
        "-- migrate:up\nCREATE TABLE a (x int);\n-- migrate:down\nDROP TABLE a;\n"
    )
    url = pg_url.replace("postgresql://", "postgres://") + "?sslmode=disable"
    subprocess.run(
        [str(dbmate), "--url", url, "--no-dump-schema", "up"],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (folder / "20240201000000_more.sql").write_text("-- migrate:up\nCREATE TABLE b (x int);\n")
    history = read(pg_url)["dbmate"]
    assert history.head == "20240101000000"
    assert [p.version for p in history.pending] == ["20240201000000"]


def test_real_knex(pg_url: str, tmp_path: Path) -> None:
    _npm_tool("knex")
    folder = tmp_path / "knex"
    folder.mkdir()
    for name in ("20240101000000_init.js", "20240201000000_users.js"):
        (folder / name).write_text(
            "exports.up = (knex) => knex.raw('SELECT 1');\n"
            "exports.down = (knex) => knex.raw('SELECT 1');\n"
        )
    script = (
        "const knex = require('knex')({client: 'pg', connection: process.argv[1]});\n"
        "knex.migrate.latest({directory: process.argv[2]})"
        ".then(() => knex.destroy(), (e) => { console.error(e); process.exit(1); });\n"
    )
    subprocess.run(
        ["node", "-e", script, pg_url, str(folder)], check=True, capture_output=True, cwd=NPM_DIR
    )
    history = read(pg_url)["knex"]
    assert [e.version for e in history.entries] == [
        "20240101000000_init.js",
        "20240201000000_users.js",
    ]
    assert all(e.detail == "batch 1" and e.applied_at for e in history.entries)
    assert history.locks[0].endswith("is_locked = 0 (free)")
