"""`dbinspect backup` on PostgreSQL: pg_dump's plain and custom formats, and JSON through
the driver, on the Chinook database."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pgkit import fresh_database, load_chinook, query
from testkit import RunCli

TABLES = ("album", "artist", "customer", "employee", "genre", "invoice", "invoice_line",
          "media_type", "playlist", "playlist_track", "track")  # fmt: skip


def table_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    return {t: query(url, f'SELECT * FROM "{t}" ORDER BY 1, 2') for t in TABLES}


def test_sql_and_custom_backups_rebuild_chinook(
    tmp_path: Path, pg_url: str, run_cli: RunCli
) -> None:
    load_chinook(pg_url)
    expected = table_rows(pg_url)
    for fmt in ("sql", "custom"):
        target = tmp_path / f"chinook.{fmt}"
        result = run_cli("backup", pg_url, "--format", fmt, "-o", target)
        assert result.returncode == 0, result.stderr
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
        with fresh_database() as copy:
            arguments = (
                ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", copy, "-f", str(target)]
                if fmt == "sql"
                else ["pg_restore", "--exit-on-error", "-d", copy, str(target)]
            )
            done = subprocess.run(arguments, capture_output=True, text=True, check=False)
            assert done.returncode == 0, done.stderr
            assert table_rows(copy) == expected


def test_json_backup_holds_the_structure_and_every_row_as_text(
    tmp_path: Path, pg_url: str, run_cli: RunCli
) -> None:
    load_chinook(pg_url)
    target = tmp_path / "chinook.json"
    result = run_cli("backup", pg_url, "--format", "json", "-o", target)
    assert result.returncode == 0, result.stderr
    document = json.loads(target.read_text())
    assert document["backend"] == "postgres"
    assert {t["name"] for t in document["schema"]["tables"]} >= set(TABLES)
    tables = {t["name"]: t for t in document["tables"]}
    [(count,)] = query(pg_url, "SELECT count(*) FROM track")
    assert len(tables["track"]["rows"]) == count
    [(total,)] = query(pg_url, "SELECT total::text FROM invoice ORDER BY invoice_id LIMIT 1")
    assert tables["invoice"]["rows"][0]["total"] == total


def test_a_missing_pg_dump_is_one_line_pointing_to_json(
    tmp_path: Path, pg_url: str, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    result = run_cli("backup", pg_url, "--format", "sql", "-o", tmp_path / "x.sql",
                     env={"PATH": str(tmp_path)})  # fmt: skip
    one_line_error(result, "pg_dump is not installed", "--format json")
    assert not (tmp_path / "x.sql").exists()


def test_the_default_file_is_named_after_the_database_libpq_connects_to(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from dbinspect.ops.backup import default_target
    from dbinspect.url import parse_url

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PGDATABASE", raising=False)
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def named(url: str) -> str:
        return default_target(parse_url(url), "sql", now).name

    assert named("postgres://u@h/shop") == "shop-20260102T030405Z.sql"
    assert named("postgres://u@h/shop?dbname=other") == "other-20260102T030405Z.sql"
    assert named("postgres://u@h?db%6Eame=other") == "other-20260102T030405Z.sql"
    assert named("postgres://u@h") == "u-20260102T030405Z.sql"  # libpq: the user's name
    monkeypatch.setenv("PGDATABASE", "from_env")
    assert named("postgres://u@h") == "from_env-20260102T030405Z.sql"
