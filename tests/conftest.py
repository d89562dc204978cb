"""Shared fixtures: temp databases, corpus files and a CLI runner (names from `testkit`)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
from testkit import CHINOOK, CORPUS, ROOT, SQLX_DB, MakeDb, RunCli, clean_env, create_db

__all__ = ["CHINOOK", "CORPUS", "ROOT", "SQLX_DB", "MakeDb", "RunCli", "clean_env", "create_db"]


@pytest.fixture
def make_db() -> MakeDb:
    """`make_db(tmp_path, sql, name="test.db")`: a real SQLite file built from a script."""
    return create_db


@pytest.fixture
def corpus_db() -> Callable[[Path], Path]:
    """Return a corpus file's path, skipping the test when the corpus is not checked out."""

    def get(path: Path) -> Path:
        if not path.is_file():
            pytest.skip(f"corpus file missing: {path}")
        return path

    return get


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """`run_cli(*args, cwd=tmp_path, env=None)`: run `python -m dbinspect` in a subprocess."""

    def run(
        *args: str | os.PathLike[str],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30,
        **kwargs: object,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            [sys.executable, "-m", "dbinspect", *map(str, args)],
            cwd=cwd or tmp_path,
            env=clean_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    return run


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Check exit 1 and exactly one `error:` line on stderr holding every fragment."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def one_line_error() -> Callable[..., str]:
    """The `assert_one_line_error(result, *fragments)` check as a fixture."""
    return assert_one_line_error


@pytest.fixture(autouse=True)
def no_clipboard_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copies in tests go to the terminal (`app.clipboard`), wherever the tests run."""
    for name in ("TMUX", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def private_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Query history and buffers go to a folder of the test's own, never the user's."""
    from dbinspect.query.storage import DATA_DIR_VARIABLE

    folder = tmp_path_factory.mktemp("data-dir")
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(folder))
    return folder


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    from pgkit import fresh_database

    with fresh_database() as url:
        yield url


TESTS = Path(__file__).resolve().parent
MARKERS = {
    "postgres": "needs the PostgreSQL test server (tests/postgres/, or the pg_url fixture)",
    "tui": "drives the app (tests/tui/)",
    "screenshot": "compares an SVG screenshot with its baseline in screenshots/",
    "sqlite_library": "an app test whose outcome depends on the SQLite library in use",
}
"""Selected by `./scripts/test` with `-m`: which runs in parallel, which on system sqlite3."""


def pytest_configure(config: pytest.Config) -> None:
    for name, meaning in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they need, from where they live and the fixtures they use."""
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
        fixtures = getattr(item, "fixturenames", ())
        if folder == "postgres" or "pg_url" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if folder == "tui":
            item.add_marker(pytest.mark.tui)
        if "snapshot" in fixtures:
            item.add_marker(pytest.mark.screenshot)
