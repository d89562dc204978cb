"""Builds the databases the Data pane tests browse, and a tiny app that holds the pane."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.worker import WorkerCancelled

from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.data import DataCommands, DataPane
from dbinspect.url import parse_url

HOSTILE = [
    "[/]",
    "[@click=app.quit]x",
    "[link=https://example.com]y[/link]",
    "\x1b]52;c;aGVsbG8=\x07",
    "\x1b[2J\x1b[H",
    "\u202eevil",
]
BIG_CELL = "x" * 1_000_000
ORDERS = 500


def build_shop(path: Path) -> Path:
    """A database with rowid, WITHOUT ROWID and composite-key tables, a view and an FK."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(
            """
            CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT);
            CREATE TABLE orders (
                id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id),
                note TEXT, data BLOB, amount REAL, payload TEXT
            );
            CREATE INDEX ix_orders_user ON orders(user_id);
            CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
            CREATE TABLE pairs (a INTEGER, b TEXT, v TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
            CREATE TABLE lines (
                order_id INTEGER REFERENCES orders(id), pos INTEGER, qty INTEGER,
                PRIMARY KEY (order_id, pos)
            );
            CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount >= 100;
            """
        )
        conn.executemany(
            "INSERT INTO users VALUES (?, ?, ?)",
            [(i, f"user{i}", f"u{i}@example.com") for i in range(1, 51)],
        )
        rows = []
        for i in range(1, ORDERS + 1):
            note: str | None = f"order {i}"
            if i == 2:
                note = None
            elif i == 3:
                note = ""
            elif i == 4:
                note = "first line\nsecond line"
            elif 5 <= i < 5 + len(HOSTILE):
                note = HOSTILE[i - 5]
            elif i == 20:
                note = BIG_CELL
            data = bytes(range(i % 7, i % 7 + 40)) if i % 10 == 0 else None
            payload = json.dumps({"k": i, "tags": ["a", "b"], "nested": {"ok": True}})
            rows.append((i, (i % 50) + 1 if i != 11 else None, note, data, float(i), payload))
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.executemany(
            "INSERT INTO kv VALUES (?, ?)", [(f"k{i:04d}", f"v{i}") for i in range(300)]
        )
        conn.executemany(
            "INSERT INTO pairs VALUES (?, ?, ?)",
            [(i // 3, f"b{i % 3}", f"v{i}") for i in range(300)],
        )
        conn.executemany(
            "INSERT INTO lines VALUES (?, ?, ?)",
            [(1 + i // 4, i % 4, i) for i in range(400)],
        )
    conn.close()
    return path


def build_big(path: Path, rows: int = 200_000) -> Path:
    """A rowid table of `rows` rows, written in one transaction."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, kind TEXT, n INTEGER)")
        conn.executemany(
            "INSERT INTO big VALUES (?, ?, ?)",
            ((i, ("a", "b", "c", "d")[i % 4], i % 1000) for i in range(1, rows + 1)),
        )
        conn.execute("CREATE VIEW heavy AS SELECT x.id, y.id AS other FROM big x, big y")
        # Sparse rowids: the cheap estimate (the highest rowid) is far from the count.
        conn.execute("CREATE TABLE sparse (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany(
            "INSERT INTO sparse VALUES (?, ?)", ((i * 10_000, f"v{i}") for i in range(1, 1001))
        )
    conn.close()
    return path


class PaneApp(App[None]):
    """An app holding only the Data pane, opened on one table."""

    COMMANDS = App.COMMANDS | {DataCommands}
    CSS = "Screen { layers: base; }"
    BINDINGS: ClassVar[list[tuple[str, str, str]]] = []

    def __init__(self, database: Path, table: str) -> None:
        super().__init__()
        self.database, self.table = database, table

    def compose(self) -> ComposeResult:
        yield DataPane(id="data-pane")

    def on_mount(self) -> None:
        pane = self.query_one(DataPane)
        pane.grid.focus()
        pane.show(parse_url(str(self.database)), self.table)


async def settle(pilot: Pilot[None], rounds: int = 20) -> None:
    """Wait until no worker is running (a fetch may start the next one), then repaint."""
    for _ in range(rounds):
        # A fetch waited on here may be replaced (cancelled) by a newer one meanwhile:
        # that is the pane working as meant, so keep waiting for the newer one.
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not any(w.is_running for w in pilot.app.workers):
            break
    await pilot.pause()


def screen_lines(pane: DataPane) -> list[str]:
    """The grid's lines as plain text, header first."""
    grid = pane.grid
    return [grid.render_line(y).text for y in range(grid.data_height + 1)]
