"""Tests `migrate add` on names that cannot make a file, and versions in the same second."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from migrate_helpers import write_folder

from dbinspect.migrate import load_migrations, next_version
from dbinspect.migrate.records import Migration

RunCli = Callable[..., subprocess.CompletedProcess[str]]
OneLineError = Callable[..., str]
STAMP = "%Y%m%d%H%M%S"


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("add\nusers", "control character (U+000A)"),
        ("add\tusers", "control character (U+0009)"),
        ("add\x1b]52;c;aGk=\x07users", "control character (U+001B)"),
        ("add\x9busers", "control character (U+009B)"),
        ("sresu_dda\u202e", "control character (U+202E)"),
        ("a/b", "path separator"),
        ("../../x", "path separator"),
        ("..\\..\\x", "path separator"),
        ("x.down", "half of a reversible migration"),
        ("x.up", "half of a reversible migration"),
        ("n" * 300, "too long"),
    ],
)
def test_refused_names_write_nothing(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path, name: str, needle: str
) -> None:
    work = tmp_path / "project" / "app"
    work.mkdir(parents=True)
    one_line_error(run_cli("migrate", "add", name, cwd=work), needle)
    assert listing(tmp_path) == ["project", "project/app"]  # not even the folder

    write_folder(work / "migrations", {"0001_first.sql": "select 1;\n"})
    one_line_error(run_cli("migrate", "add", "-s", name, cwd=work), needle)
    assert listing(work) == ["migrations", "migrations/0001_first.sql"]
    assert listing(tmp_path / "project") == [
        "app",
        "app/migrations",
        "app/migrations/0001_first.sql",
    ]


def test_spaces_become_underscores_as_in_sqlx(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("migrate", "add", "-s", "-r", "create users  table")
    assert result.returncode == 0, result.stderr
    assert listing(tmp_path / "migrations") == [
        "0001_create_users__table.down.sql",
        "0001_create_users__table.up.sql",
    ]
    assert [m.description for m in load_migrations(tmp_path / "migrations")] == [
        "create users  table"
    ]


def test_reversible_names_may_end_like_a_suffix(run_cli: RunCli, tmp_path: Path) -> None:
    # `-r x.down` makes x.down.up.sql and x.down.down.sql: read back as one pair.
    assert run_cli("migrate", "add", "-s", "-r", "x.down").returncode == 0
    [migration] = load_migrations(tmp_path / "migrations")
    assert (migration.kind, migration.down_path is not None) == ("reversible", True)


def test_back_to_back_adds_get_distinct_versions(run_cli: RunCli, tmp_path: Path) -> None:
    for name in ("first", "second", "third"):
        assert run_cli("migrate", "add", "-r", name).returncode == 0
    versions = [m.version for m in load_migrations(tmp_path / "migrations")]
    assert len(versions) == 3 and versions == sorted(set(versions))
    info = run_cli("migrate", "info", "--database-url", f"sqlite:{tmp_path / 'app.db'}")
    assert info.returncode == 0, info.stderr
    assert [line.split(" ")[1] for line in info.stdout.splitlines()] == ["first", "second", "third"]


def test_a_timestamp_is_past_the_newest_even_in_the_same_second(
    run_cli: RunCli, tmp_path: Path
) -> None:
    # The newest file carries this very second, or a clock a minute ahead: sqlx would
    # reuse the current time and leave two files with one version.
    ahead = (datetime.now(UTC) + timedelta(minutes=1)).strftime(STAMP)
    folder = write_folder(
        tmp_path / "migrations",
        {f"{ahead}_first.up.sql": "select 1;\n", f"{ahead}_first.down.sql": "select 1;\n"},
    )
    result = run_cli("migrate", "add", "second")
    assert result.returncode == 0, result.stderr
    expected = (datetime.strptime(ahead, STAMP) + timedelta(seconds=1)).strftime(STAMP)
    assert f"{expected}_second.up.sql" in listing(folder)
    assert run_cli("migrate", "add", "-t", "third").returncode == 0
    versions = [m.version for m in load_migrations(folder)]
    assert versions == sorted(set(versions)) and len(versions) == 3


def _migration(version: int) -> Migration:
    path = Path(f"{version}_x.sql")
    return Migration(version, "x", "simple", "", None, b"", False, path, None)


def test_next_version_rules() -> None:
    noon = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    at = [_migration(20240501120000)]
    assert next_version(at, timestamp=True, sequential=False, now=noon) == "20240501120001"
    late = [_migration(20241231235959)]
    assert next_version(late, timestamp=False, sequential=False, now=noon) == "20250101000000"
    assert next_version([], timestamp=False, sequential=False, now=noon) == "20240501120000"
    odd = [_migration(99_999_999_999_999_999)]  # not a timestamp: the next integer
    assert next_version(odd, timestamp=True, sequential=False, now=noon) == "100000000000000000"
    # Sequential is also past the newest, whatever it is.
    mixed = [_migration(1), _migration(20240101000000)]
    assert next_version(mixed, timestamp=False, sequential=True, now=noon) == "20240101000001"
    assert next_version([], timestamp=False, sequential=True, now=noon) == "0001"


def test_no_version_after_the_largest_bigint(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path
) -> None:
    write_folder(tmp_path / "migrations", {"9223372036854775807_last.sql": "select 1;\n"})
    one_line_error(run_cli("migrate", "add", "-s", "next"), "64-bit")
    assert listing(tmp_path / "migrations") == ["9223372036854775807_last.sql"]
