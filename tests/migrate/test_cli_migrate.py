"""Tests the `migrate` commands through click, and the demo database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from migrate_helpers import SQLX, tracking_rows, write_folder

from dbinspect.cli_migrate import format_duration, migrate
from dbinspect.errors import ChecksumMismatchError, DbInspectError, MigrationSourceError
from dbinspect.migrate import load_migrations, revert_migrations, run_migrations
from dbinspect.ops.demo import SAMPLE_MIGRATIONS, build_demo
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A runner in an empty working directory with DATABASE_URL pointing at app.db."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:{tmp_path / 'app.db'}")
    return CliRunner()


def invoke(cli: CliRunner, *args: str) -> Result:
    return cli.invoke(migrate, list(args), catch_exceptions=True)


def test_duration_format_matches_rust_debug() -> None:
    assert format_duration(0) == "0ns"
    assert format_duration(1_500) == "1.5µs"
    assert format_duration(2_345_678) == "2.345678ms"
    assert format_duration(3_000_000_000) == "3s"


def test_add_infers_versions_like_sqlx(cli: CliRunner, tmp_path: Path) -> None:
    first = invoke(cli, "add", "-s", "create users")
    assert first.exit_code == 0, first.output
    assert first.output == f"Creating {tmp_path / 'migrations' / '0001_create_users.sql'}\n"
    assert (tmp_path / "migrations" / "0001_create_users.sql").read_bytes() == (
        b"-- Add migration script here\n"
    )
    assert invoke(cli, "add", "second").exit_code == 0  # one file at version 1: sequential
    assert invoke(cli, "add", "-r", "third").exit_code == 0  # 1, 2: sequential
    names = sorted(p.name for p in (tmp_path / "migrations").iterdir())
    assert names == [
        "0001_create_users.sql",
        "0002_second.sql",
        "0003_third.down.sql",
        "0003_third.up.sql",
    ]
    assert (tmp_path / "migrations" / "0003_third.down.sql").read_text() == (
        "-- Add down migration script here\n"
    )
    assert invoke(cli, "add", "fourth").exit_code == 0  # newest is reversible: so is this
    assert (tmp_path / "migrations" / "0004_fourth.up.sql").exists()
    stamped = invoke(cli, "add", "-t", "stamped")
    assert stamped.exit_code == 0
    [new] = [m for m in load_migrations(tmp_path / "migrations") if m.description == "stamped"]
    assert new.version > 20200101000000 and len(str(new.version)) == 14
    assert invoke(cli, "add", "-s", "-t", "both").exit_code != 0


def test_add_without_files_uses_a_timestamp(cli: CliRunner, tmp_path: Path) -> None:
    assert invoke(cli, "add", "first").exit_code == 0
    [path] = (tmp_path / "migrations").iterdir()
    assert len(path.name.split("_")[0]) == 14


def test_run_info_revert_output(cli: CliRunner) -> None:
    source = str(SQLX / "tests" / "sqlite" / "migrations_reversible")
    pending = invoke(cli, "info", "--source", source)
    assert pending.output.splitlines() == [
        "20220721124650/pending add table",
        "20220721125033/pending modify column",
    ]
    dry = invoke(cli, "run", "--source", source, "--dry-run")
    assert dry.output.splitlines()[0] == "Can apply 20220721124650/migrate add table (0ns)"
    run = invoke(cli, "run", "--source", source)
    assert run.exit_code == 0
    lines = run.output.splitlines()
    assert [line.rsplit(" (", 1)[0] for line in lines] == [
        "Applied 20220721124650/migrate add table",
        "Applied 20220721125033/migrate modify column",
    ]
    assert all(line.endswith(")") for line in lines)
    info = invoke(cli, "info", "--source", source, "--json")
    records = json.loads(info.output)
    assert [r["status"] for r in records] == ["applied", "applied"]
    assert records[0]["checksum"] == records[0]["applied_checksum"]
    revert = invoke(cli, "revert", "--source", source)
    assert revert.output.startswith("Applied 20220721125033/revert modify column (")
    assert invoke(cli, "revert", "--source", source, "--target-version", "0").exit_code == 0
    assert invoke(cli, "revert", "--source", source).output == (
        "No migrations available to revert\n"
    )


def test_info_shows_modified_missing_and_failed(cli: CliRunner, tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "m",
        {"1_a.sql": "create table a(x);\n", "2_b.sql": "select 1;\n", "3_c.sql": "select 2;\n"},
    )
    assert invoke(cli, "run", "--source", str(folder)).exit_code == 0
    (folder / "1_a.sql").write_bytes(b"create table a(x);\r\n")
    (folder / "2_b.sql").unlink()
    conn = sqlite3.connect(tmp_path / "app.db", isolation_level=None)
    conn.execute("UPDATE _sqlx_migrations SET success = FALSE WHERE version = 3")
    lines = invoke(cli, "info", "--source", str(folder)).output.splitlines()
    assert lines[0] == "1/installed (different checksum) a"
    assert lines[1].startswith("applied migration had checksum ")
    assert lines[2].startswith("local migration has checksum ")
    assert lines[3:] == ["2/installed (missing file) b", "3/failed (dirty) c"]


def test_refusals_are_dbinspect_errors(cli: CliRunner, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", {"1_a.sql": "create table a(x);\n"})
    assert invoke(cli, "run", "--source", str(folder)).exit_code == 0
    (folder / "1_a.sql").write_bytes(b"\xef\xbb\xbfcreate table a(x);\n")
    result = invoke(cli, "run", "--source", str(folder))
    assert isinstance(result.exception, ChecksumMismatchError)
    assert "byte-order mark" in result.exception.one_line()
    restamp = invoke(cli, "restamp", "--source", str(folder), "--yes", "1")
    assert restamp.exit_code == 0
    assert "local migration has checksum" in restamp.output
    assert tracking_rows(tmp_path / "app.db")[0][3] == load_migrations(folder)[0].checksum
    (folder / "x_bad.sql").write_text("select 1;")
    bad = invoke(cli, "info", "--source", str(folder))
    assert isinstance(bad.exception, MigrationSourceError)


def test_restamp_warns_when_more_than_line_endings_changed(cli: CliRunner, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", {"1_a.sql": "create table a(x);\n"})
    assert invoke(cli, "run", "--source", str(folder)).exit_code == 0
    (folder / "1_a.sql").write_bytes(b"create table a(x);\r\n")
    quiet = invoke(cli, "restamp", "--source", str(folder), "--yes", "1")
    assert quiet.exit_code == 0 and "warning" not in quiet.output
    (folder / "1_a.sql").write_text("create table a(x);\ndrop table everything_else;\n")
    unasked = invoke(cli, "restamp", "--source", str(folder), "1")  # no terminal to answer
    assert unasked.exit_code != 0 and "not a terminal" in str(unasked.exception)
    warned = invoke(cli, "restamp", "--source", str(folder), "--yes", "1")
    assert warned.exit_code == 0
    assert "warning: 1_a.sql changed in more than its line endings" in warned.output


def test_missing_database_url_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = CliRunner().invoke(migrate, ["info"])
    assert isinstance(result.exception, DbInspectError)
    assert "DATABASE_URL" in result.exception.one_line()


async def test_demo_builds_a_full_database(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    await build_demo(path)
    conn = sqlite3.connect(path)
    counts = {
        name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '\\_%' "
            "ESCAPE '\\'"
        )
    }
    assert sum(counts.values()) > 3000 and all(counts.values())
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    versions = [r[0] for r in conn.execute("SELECT version FROM _sqlx_migrations")]
    assert versions == [m.version for m in load_migrations(SAMPLE_MIGRATIONS)] == [1, 2, 3, 4, 5]
    assert conn.execute("SELECT count(*) FROM session_summary").fetchone() == (60,)
    with pytest.raises(DbInspectError, match="already exists"):
        await build_demo(path)


async def test_sample_migrations_revert_cleanly(tmp_path: Path) -> None:
    url = parse_url(str(tmp_path / "s.db"))
    await run_migrations(url, SAMPLE_MIGRATIONS)
    assert len(await revert_migrations(url, SAMPLE_MIGRATIONS, target_version=0)) == 5
    conn = sqlite3.connect(tmp_path / "s.db")
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_schema")]
    assert names == ["_sqlx_migrations", "sqlite_autoindex__sqlx_migrations_1"]


def test_target_version_names_what_it_skips_as_sqlx_cli_does(
    cli: CliRunner, tmp_path: Path
) -> None:
    files = {}
    for version in (1, 2, 3):
        files[f"{version}_t{version}.up.sql"] = f"create table t{version}(x);\n"
        files[f"{version}_t{version}.down.sql"] = f"drop table t{version};\n"
    folder = write_folder(tmp_path / "m", files)
    ran = invoke(cli, "run", "--source", str(folder), "--target-version", "1")
    lines = [line.split(" (")[0] for line in ran.output.splitlines()]
    assert lines == ["Applied 1/migrate t1", "Skipped 2/migrate t2", "Skipped 3/migrate t3"]
    assert ran.output.splitlines()[1].endswith("(0ns)")
    assert invoke(cli, "run", "--source", str(folder)).exit_code == 0
    reverted = invoke(cli, "revert", "--source", str(folder), "--target-version", "1")
    lines = [line.split(" (")[0] for line in reverted.output.splitlines()]
    assert lines == ["Applied 3/revert t3", "Applied 2/revert t2", "Skipped 1/revert t1"]
