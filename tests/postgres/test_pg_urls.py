"""Tests what a PostgreSQL URL may say, as libpq reads it: every spelling, every secret.

libpq decodes a URL's keys as well as its values (`?db%6Eame=x` is `dbname`), quotes the
part it cannot read in its errors (a password too), and takes `options` from the URL or
PGOPTIONS. A scratch database must never turn out to be the live one; a password is never
shown; the user's own settings hold in every session.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pg_migrate_helpers import database_name, run_cli, tracking_rows, write_folder
from pgkit import query, run_sql

from dbinspect import pg_driver
from dbinspect.url import parse_url


def test_check_never_replays_on_the_live_database_however_dbname_is_spelled(
    pg_url: str, tmp_path: Path
) -> None:
    folder = write_folder(
        tmp_path / "migrations",
        {
            "0001_a.sql": "-- no-transaction\nCREATE TABLE IF NOT EXISTS counter (n int);\n"
            "INSERT INTO counter VALUES (1);\n"
        },
    )
    assert run_cli("migrate", "run", "-D", pg_url, "--source", folder, cwd=tmp_path).returncode == 0
    live = database_name(pg_url)
    for spelling in ("db%6Eame", "%64bname", "DBNAME"):
        url = f"{pg_url}?{spelling}={live}"
        result = run_cli("check", url, "--source", folder, cwd=tmp_path)
        assert "Traceback" not in result.stderr, result.stderr
        assert query(pg_url, "SELECT count(*) FROM counter") == [(1,)], (spelling, result.stdout)
    assert [r[0] for r in tracking_rows(pg_url)] == [1]


def test_a_scratch_url_keeps_the_server_and_names_only_its_database(pg_url: str) -> None:
    live = database_name(pg_url)
    url = parse_url(f"{pg_url}?db%6Eame={live}&application_name=x&options=-c%20work_mem%3D5MB")
    scratch = pg_driver.with_database(url, "other db/é")
    assert pg_driver.database_name(scratch) == "other db/é"
    with pg_driver.connect(pg_driver.with_database(url, live), read_only=True) as conn:
        assert conn.execute("SELECT current_setting('work_mem')").fetchone() == ("5MB",)


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:pa%zzS3CRET@127.0.0.1/db",
        "postgres://u@127.0.0.1/db?password=pa%zzS3CRET",
        "postgres://u@127.0.0.1/db?sslpassword=x%zS3CRET&sslmode=disable",
        "postgres://u:pa%00S3CRET@127.0.0.1/db",
    ],
)
def test_a_password_libpq_cannot_read_is_never_shown(url: str, tmp_path: Path) -> None:
    for command in (["info"], ["schema", "--format", "json"], ["migrate", "info"]):
        result = run_cli(*command, url, cwd=tmp_path, timeout=30)
        assert result.returncode == 1, (command, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "S3CRET" not in result.stderr + result.stdout, result.stderr


@pytest.mark.parametrize("host", ["a" * 64, "a..b", ".a"])
def test_a_host_name_that_is_no_dns_name_is_one_line(host: str, tmp_path: Path) -> None:
    for command in (["info"], ["migrate", "info"], ["query", "SELECT 1"]):
        result = run_cli(*command, f"postgres://postgres@{host}/x", cwd=tmp_path, timeout=30)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("where", ["url", "environment"])
def test_the_users_options_hold_in_read_only_sessions(
    pg_url: str, tmp_path: Path, where: str
) -> None:
    run_sql(pg_url, "CREATE SCHEMA app")
    folder = write_folder(tmp_path / "migrations", {"1_w.sql": "CREATE TABLE widgets (id int);\n"})
    options = "-c search_path=app"
    url = f"{pg_url}?options=-c%20search_path%3Dapp" if where == "url" else pg_url
    env = {"PGOPTIONS": options} if where == "environment" else {}
    assert run_cli("migrate", "run", url, "--source", folder, cwd=tmp_path, env=env).returncode == 0
    assert query(pg_url, "SELECT to_regclass('app._sqlx_migrations') IS NOT NULL") == [(True,)]
    status = run_cli("migrate", "info", url, "--source", folder, cwd=tmp_path, env=env)
    assert status.stdout.startswith("1/installed w"), status.stdout + status.stderr
    info = run_cli("info", url, cwd=tmp_path, env=env)
    assert "Latest migration:   1 w" in info.stdout, info.stdout
    exported = run_cli("export", url, "widgets", cwd=tmp_path, env=env)
    assert exported.returncode == 0, exported.stderr
    # Read-only all the same: the user's `-c` comes first, ours win.
    written = run_cli(
        "query",
        url,
        "SET default_transaction_read_only = off; CREATE TABLE x ()",
        cwd=tmp_path,
        env=env,
    )
    assert written.returncode == 1


def test_connect_timeout_is_ours_unless_the_url_sets_one() -> None:
    named = parse_url("postgres://u@h/db?application_name=no_connect_timeout")
    assert pg_driver.connect_options(named)["connect_timeout"] == pg_driver.CONNECT_TIMEOUT_S
    given = parse_url("postgres://u@h/db?connect%5Ftimeout=3")
    assert "connect_timeout" not in pg_driver.connect_options(given)


def test_a_url_libpq_quotes_in_its_error_is_masked_whole(tmp_path: Path) -> None:
    # Masked as a URL on its own, not as a message running from its first `:` to its `@`.
    result = run_cli("info", "postgresql://postgres:S3CRET@[::1/probe", cwd=tmp_path, timeout=30)
    assert result.returncode == 1
    assert "S3CRET" not in result.stderr
    assert 'in URI: "postgresql://postgres:***@[::1/probe"' in result.stderr, result.stderr


@pytest.mark.parametrize(
    "password", ['" x', 'x"y z', '"@x ', "ab@c d", "p@ss"], ids=["q", "qs", "qa", "as", "a"]
)
def test_a_password_libpq_splits_otherwise_is_not_shown_in_part(
    password: str, tmp_path: Path
) -> None:
    # libpq splits userinfo at the first `@` and quotes the fragment it cannot read.
    result = run_cli("info", f"postgresql://postgres:{password}@127.0.0.1:9/d", cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    said = line.split(": ", 1)[1]  # past "cannot read the URL <masked>"
    assert password not in said, line
    # What libpq quotes (a fragment holding the password's end, in these) is hidden whole.
    assert re.findall(r'"([^"]*)"', said) in ([], ["***"]), line
