"""Times live refresh on PostgreSQL: another session's commit until the Data pane shows it.

Opens the app (headless, through Textual's test driver) on a scratch database, opens a
table in the Data pane, then commits a row from another connection and polls the screen
until the row is drawn. Target: within 2 s (the change poll runs once a second). Each
figure is one commit; the median and the worst of several are printed.

Usage: python benchmarks/bench_pg_live.py [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from rich.console import Console

from dbinspect.backends import open_backend
from dbinspect.config import resolve_settings
from dbinspect.connections import ConnectionOwner
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.data.pane import DataPane
from dbinspect.tui.screens.main import MainScreen
from dbinspect.tui.session import Session

SERVER = "postgresql://postgres@127.0.0.1:5432"
TARGET_S = 2.0


def shown(app: DbInspectApp, text: str) -> bool:
    """Whether `text` is on the screen as drawn now."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console = Console(width=app.size.width, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        console.print(update)
    return text in capture.get()


async def measure(url: str, runs: int) -> list[float]:
    settings = resolve_settings(database=url, cwd=Path(tempfile.mkdtemp()))
    assert settings.url is not None
    backend = await open_backend(settings.url)
    session = Session(settings, settings.url, ConnectionOwner(settings.url, panes=backend))
    app = DbInspectApp(session)
    delays: list[float] = []
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            assert isinstance(screen, MainScreen)
            pane = await screen.built_pane("data", DataPane)  # built after the first frame
            pane.show(settings.url, "note")
            await pilot.press("4")
            while not shown(app, "r000"):
                await pilot.pause(0.05)
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as writer:
                for run in range(1, runs + 1):
                    marker = f"r{run:03d}"
                    await writer.execute("INSERT INTO note VALUES (%s, %s)", (run, marker))
                    committed = time.perf_counter()
                    while not shown(app, marker):
                        await pilot.pause(0.01)
                    delays.append(time.perf_counter() - committed)
                    await pilot.pause(0.3)
    finally:
        await session.connections.aclose()
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    runs = parser.parse_args().runs
    name = f"bench_live_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{SERVER}/test", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{SERVER}/{name}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE note (id int PRIMARY KEY, body text)")
            conn.execute("INSERT INTO note VALUES (0, 'r000')")
        delays = asyncio.run(measure(url, runs))
    finally:
        with psycopg.connect(f"{SERVER}/test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"live refresh, commit until shown: median {statistics.median(delays):.2f} s, "
        f"worst {max(delays):.2f} s over {len(delays)} commits (target <= {TARGET_S:g} s)"
    )


if __name__ == "__main__":
    main()
