"""Defects found by trying dbinspect as an attacker would, each pinned by a test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dbinspect.config import resolve_settings
from dbinspect.errors import ConfigError
from dbinspect.extensions import Extension
from dbinspect.migrate.runner import migration_status
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.messages import MigrationPlan
from dbinspect.tui.migration_plans import confirmation_body
from dbinspect.url import parse_url


@pytest.mark.parametrize("url", ["sqlite:app.db%00x", "sqlite:///%00", "sqlite://a%00.db?mode=ro"])
def test_a_nul_in_a_url_is_one_line(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="NUL"):
        parse_url(url)
    for command in (["info", url], ["migrate", "info", "-D", url, "--source", "m"]):
        result = subprocess.run(
            [sys.executable, "-m", "dbinspect", *command],
            capture_output=True, text=True, check=False, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr


def test_extension_paths_in_the_confirmation_are_escaped() -> None:
    hostile = "/tmp/\x1b]52;c;SElKQUNLRUQ=\x1b\\x.so"
    plan = MigrationPlan("Apply all", "up", None, (), (), (str(Extension(hostile)),))
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None, force_terminal=False)
    console.print(confirmation_body(plan))
    shown = console.export_text()
    assert "\x1b" not in shown
    assert "52;c;SElKQUNLRUQ=" in shown  # shown, escaped, not hidden


def test_reading_the_status_loads_no_extension(tmp_path: Path) -> None:
    # sqlx.toml names an extension that does not exist: a status read must not try it.
    (tmp_path / "sqlx.toml").write_text(
        '[drivers.sqlite]\nunsafe-load-extensions = ["/nonexistent/canary"]\n'
    )
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "1_a.sql").write_text("CREATE TABLE a(x);\n")
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    settings = resolve_settings(database="app.db", cwd=tmp_path)
    settings = settings._replace(
        sqlx=settings.sqlx._replace(extensions=(Extension("/nonexistent/canary"),))
    )
    assert settings.url is not None
    url = parse_url(str(tmp_path / "app.db"))
    statuses = migration_status(url, folder, settings.sqlx)
    assert [s.version for s in statuses] == [1]
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "migrate", "info", "app.db"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1/pending a" in result.stdout and "loading extension" not in result.stderr
