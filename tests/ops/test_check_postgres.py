"""`dbinspect check` on PostgreSQL: INVALID indexes, amcheck, drift, and the scratch database."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

from pgkit import query, run_sql
from testkit import RunCli

from dbinspect.migrate.runner import run_migrations
from dbinspect.url import parse_url


def migrate(url: str, folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    run_migrations(parse_url(url), folder)
    return folder


def scratch_databases() -> list[object]:
    from pgkit import SERVER_URL

    rows = query(
        SERVER_URL, "SELECT datname FROM pg_database WHERE datname LIKE 'dbinspect_scratch%'"
    )
    return [r[0] for r in rows]


def scratch_databases_settle(before: set[object], limit: float = 30.0) -> bool:
    """Whether no scratch database is left beyond those of `before`.

    Tests in other processes replay into scratch databases of their own meanwhile; theirs
    go when they end, while one this test's command left behind would stay.
    """
    deadline = time.monotonic() + limit
    while not set(scratch_databases()) <= before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_an_index_left_invalid_and_a_hand_made_column(
    pg_url: str, tmp_path: Path, run_cli: RunCli
) -> None:
    role = f"dbi_check_{uuid.uuid4().hex[:8]}"
    folder = migrate(
        pg_url,
        tmp_path / "migrations",
        {
            "0001_users.sql": "CREATE SCHEMA app;\n"
            "CREATE TABLE app.users (id serial PRIMARY KEY, email text);\n"
            "INSERT INTO app.users (email) VALUES ('a@x'), ('a@x');\n"
            # Acts on the server, not the database: skipped by the replay, and listed.
            f"CREATE ROLE {role};\nDROP ROLE {role};\n"
        },
    )
    before = set(scratch_databases())
    result = run_cli("check", pg_url, "--source", folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "drift: none" in result.stdout
    assert f"0001_users.sql statement 4: CREATE ROLE {role}" in result.stdout
    assert f"0001_users.sql statement 5: DROP ROLE {role}" in result.stdout

    # A concurrent unique build over duplicates fails and leaves its index INVALID.
    failed = subprocess.run(
        [
            "psql",
            "-X",
            "-d",
            pg_url,
            "-c",
            "CREATE UNIQUE INDEX CONCURRENTLY users_email ON app.users (email)",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode != 0 and "duplicated" in failed.stderr
    run_sql(pg_url, "ALTER TABLE app.users ADD COLUMN age integer")
    result = run_cli("check", pg_url, "--source", folder)
    assert result.returncode == 1
    assert "index app.users_email on app.users is INVALID" in result.stdout
    report = json.loads(run_cli("check", "--json", pg_url, "--source", folder).stdout)
    assert [i["name"] for i in report["invalid_indexes"]] == ["app.users_email"]
    changes = {(d["change"], d["kind"], d["name"]) for d in report["drift"]}
    assert changes == {("changed", "table", "app.users"), ("added", "index", "app.users_email")}
    table = next(d for d in report["drift"] if d["kind"] == "table")
    assert [c["name"] for c in table["actual"]["columns"]] == ["id", "email", "age"]
    assert [c["name"] for c in table["expected"]["columns"]] == ["id", "email"]
    assert scratch_databases_settle(before)  # every scratch database dropped
    assert query(pg_url, "SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'") == [(0,)]
    assert "amcheck is not installed" in result.stdout


def test_amcheck_runs_where_installed(pg_url: str, tmp_path: Path, run_cli: RunCli) -> None:
    run_sql(pg_url, "CREATE EXTENSION amcheck")
    folder = migrate(
        pg_url,
        tmp_path / "migrations",
        {
            "0001_t.sql": "CREATE TABLE t (id int PRIMARY KEY, x text UNIQUE);\n"
            "INSERT INTO t SELECT i, i::text FROM generate_series(1, 500) i;\n"
        },
    )
    result = run_cli("check", pg_url, "--source", folder)
    # The extension was there before the migrations: the replay lacks it, which is drift.
    assert "added extension public.amcheck" in result.stdout
    assert "indexes: ok (amcheck verified 3 btree indexes)" in result.stdout, result.stdout


def test_no_migration_applied_is_no_drift(pg_url: str, tmp_path: Path, run_cli: RunCli) -> None:
    # Applied, then reverted: the tracking table stays, empty; the migrations build nothing.
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_a.up.sql").write_text("CREATE TABLE a (x int);\n")
    (folder / "1_a.down.sql").write_text("DROP TABLE a;\n")
    assert run_cli("migrate", "run", pg_url, cwd=tmp_path).returncode == 0
    assert run_cli("migrate", "revert", pg_url, cwd=tmp_path).returncode == 0
    result = run_cli("check", pg_url, "--json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["drift"] == [] and report["drift_error"] is None, report
    run_sql(pg_url, "CREATE TABLE by_hand (x int)")
    report = json.loads(run_cli("check", pg_url, "--json", cwd=tmp_path).stdout)
    assert [(d["change"], d["name"]) for d in report["drift"]] == [("added", "public.by_hand")]
