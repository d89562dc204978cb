"""Helpers for driving the Query pane (key 7) in pilot tests, on either backend."""

from __future__ import annotations

import json
import time
from pathlib import Path

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Label, Static

from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.query import QueryPane
from dbinspect.tui.query.dialogs import CommitScreen
from dbinspect.tui.query.editor import CompletionList
from tui.helpers import main_screen, plain, settle, wait_until


async def open_query(pilot: Pilot[None], app: DbInspectApp, *, names: bool = True) -> QueryPane:
    """Press 7 and wait for the pane, its editor focused (and its completion names)."""
    await settle(pilot)
    await pilot.press("7")
    screen = main_screen(app)
    await wait_until(pilot, lambda: screen.query_pane() is not None, "the Query pane")
    pane = screen.query_pane()
    assert pane is not None
    await wait_until(pilot, lambda: pane.editor.has_focus, "the editor focused")
    if names:
        await wait_until(pilot, lambda: pane.editor.names is not None, "the schema's names")
    return pane


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Type `text` key by key into the focused widget."""
    keys = {" ": "space", "\n": "enter", ".": "full_stop", "*": "asterisk", "(": "left_parenthesis"}
    await pilot.press(*(keys.get(char, char) for char in text))


def write(pane: QueryPane, sql: str) -> None:
    """Replace the buffer with `sql`, the cursor at its end."""
    editor = pane.editor
    editor.load_text(sql)
    editor.move_cursor((editor.document.line_count - 1, len(editor.document.get_line(-1))))


async def finished(pilot: Pilot[None], pane: QueryPane, limit: float = 30) -> None:
    """Wait until the run is over and its rows (if any) are read."""
    await wait_until(pilot, lambda: not pane.running, "the run to end", limit)
    await settle(pilot)


async def run(pilot: Pilot[None], pane: QueryPane, sql: str, key: str = "ctrl+j") -> None:
    """Put `sql` in the buffer, press `key` (run statement), wait for the outcome."""
    write(pane, sql)
    await pilot.press(key)
    await finished(pilot, pane)


async def commit_question(pilot: Pilot[None], app: DbInspectApp) -> CommitScreen:
    """Wait for the commit question, then past the moment keys typed ahead are ignored."""
    await wait_until(pilot, lambda: isinstance(app.screen, CommitScreen), "the commit question")
    screen = app.screen
    assert isinstance(screen, CommitScreen)
    await pilot.pause(0.4)
    return screen


def labels(screen: Screen[object]) -> str:
    """The text of every label on `screen`, lines joined."""
    return " ".join(" ".join(str(label.render()) for label in screen.query(Label)).split())


def message(pane: QueryPane) -> str:
    """The message area's text (statement outcomes, errors)."""
    return " ".join(plain(pane.query_one("#query-message", Static), width=400).split())


def status(pane: QueryPane) -> str:
    """The status line beside the mode (the run's label and elapsed time)."""
    return str(pane.query_one("#query-status", Label).render())


def mode(pane: QueryPane) -> str:
    return str(pane.query_one("#query-mode", Label).render())


def shown(pane: QueryPane) -> str:
    """Which of rows, message or plan the pane shows."""
    return str(pane.query_one("#query-output").current)  # type: ignore[attr-defined]


def grid_lines(pane: QueryPane) -> list[str]:
    """The result grid's lines as plain text, header first, blank lines left out."""
    grid = pane.results.grid
    lines = [grid.render_line(y).text.rstrip() for y in range(grid.data_height + 1)]
    return [line for line in lines if line.strip()]


def grid_rows(pane: QueryPane) -> list[list[str]]:
    """The grid's rows as shown, split into words."""
    return [line.split() for line in grid_lines(pane)[1:]]


def history_file(data_dir: Path) -> list[str]:
    """The statements in the one history file of the data directory, oldest first."""
    files = list((data_dir / "history").glob("*.jsonl"))
    assert len(files) == 1, files
    return [json.loads(line)["sql"] for line in files[0].read_text().splitlines()]


def completions(pane: QueryPane) -> list[str]:
    """The open completion list's candidates, without their kinds."""
    found = pane.query_one(CompletionList)
    if not found.is_open:
        return []
    return [str(found.get_option_at_index(i).prompt).split()[0] for i in range(found.option_count)]


async def cancel_running(pilot: Pilot[None], pane: QueryPane, text: str) -> float:
    """Wait until the statement runs, press Escape; seconds until the run ended."""
    await wait_until(pilot, lambda: pane.running and "esc cancels" in status(pane), "running")
    await pilot.pause(0.5)  # it is surely in the database by now
    assert pane.running
    started = time.monotonic()
    await pilot.press("escape")
    await wait_until(pilot, lambda: not pane.running, "the run cancelled", 10)
    took = time.monotonic() - started
    await settle(pilot)
    assert text in message(pane)
    return took
