"""Fixtures for the app tests: the demo database, migration folders and a running app."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from dbinspect.backends import open_backend
from dbinspect.config import resolve_settings
from dbinspect.connections import ConnectionOwner
from dbinspect.ops.demo import SAMPLE_MIGRATIONS, build_demo
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.outcome import LaunchOutcome
from dbinspect.tui.session import Session
from tui.helpers import OpenApp

ROOT = Path(__file__).resolve().parent.parent.parent


class ScreenshotExtension(SVGImageExtension):
    """Keeps SVG baselines in the committed `screenshots/` folder, shown in README.md."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(ROOT / "screenshots" / test_location.basename)


@pytest.fixture
def svg_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """`assert app.export_screenshot() == svg_snapshot`, stored under screenshots/."""
    return snapshot.use_extension(ScreenshotExtension)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp working directory holding a copy of the sample migrations in `migrations/`."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "DBINSPECT_MIGRATIONS"):
        monkeypatch.delenv(name, raising=False)
    shutil.copytree(SAMPLE_MIGRATIONS, tmp_path / "migrations")
    return tmp_path


def freeze_history(path: Path) -> None:
    """Give every tracking row a fixed time and duration, so screenshots do not change."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE _sqlx_migrations SET installed_on = '2026-01-05 09:00:0' || version,"
            " execution_time = 1000000 * version"
        )
    conn.close()
    path.chmod(0o644)


@pytest.fixture
async def demo_db(workdir: Path) -> Path:
    """The demo database (sample migrations applied, seeded rows) at `demo.db`."""
    path = workdir / "demo.db"
    await build_demo(path)
    freeze_history(path)
    return path


@pytest.fixture
def open_app() -> OpenApp:
    """`async with open_app(path, ...) as app:` a DbInspectApp on `path`, backend closed after."""

    @asynccontextmanager
    async def factory(
        path: Path,
        *,
        source: str | None = None,
        read_only: bool = False,
        read_only_reason: str | None = None,
        outcome: LaunchOutcome | None = None,
        path_label: str | None = None,
    ) -> AsyncIterator[DbInspectApp]:
        settings = resolve_settings(database=str(path.name), source=source, cwd=path.parent)
        assert settings.url is not None
        backend = await open_backend(settings.url)
        session = Session(
            settings,
            settings.url,
            ConnectionOwner(settings.url, panes=backend),
            read_only_reason="opened with --read-only" if read_only else read_only_reason,
            outcome=outcome,
            path_label=path_label,
            cwd=path.parent,
        )
        try:
            yield DbInspectApp(session)
        finally:
            await session.connections.aclose()

    return factory
