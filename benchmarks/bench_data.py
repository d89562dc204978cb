"""Measures the Data pane on a 5,000,000-row table as a user sees it, in a real terminal.

Runs `dbinspect DB` in tmux (as ../shared/tools/tui_time.py does) on the `events` table
that `datasets.big_events()` builds, and times from the screen:
(a) from pressing `d` on `events` in the Schema pane until its first rows are shown;
(b) from pressing End until row 5,000,000 is shown;
(c) the peak memory (VmHWM) of the app process after paging from one end of the table to
the other (Home, scrollbar jumps at every tenth of the table each followed by PageDowns,
End). (a) and (b) are the median of several rounds (Schema pane, `d`, End).
Targets: first rows <= 0.3 s, End <= 0.3 s, peak memory <= 100 MB;
harlequin 2.17 takes 22 s and 3.2 GB to show that table.

    python benchmarks/bench_data.py [--db FILE] [--rounds N] [--harness]

`--harness` drives the standalone Data pane (`python -m dbinspect.tui.data DB events`)
instead of the whole app, to tell the pane's own cost from the app's.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bytecode import compile_package
from datasets import big_events

TARGET_FIRST = 0.3
TARGET_END = 0.3
TARGET_MB = 100.0
REFERENCE = "harlequin 2.17: 22 s and 3.2 GB to show the table"
WIDTH, HEIGHT = 160, 45
TABLE_LEAF = re.compile(r"[├└] events\b")
TABLE_SHOWN = re.compile(r"table events\b")
FIRST_ROW = re.compile(r"^\s*1\s+2026-01-01", re.MULTILINE)
LAST_ROW = re.compile(r"^\s*5000000\s+2026-01-01", re.MULTILINE)
ROW_ID = re.compile(r"^\s*(\d+)\s+2026-01-01", re.MULTILINE)


class Terminal:
    """A detached tmux session running one command, read and typed into like a user."""

    def __init__(self, command: list[str]) -> None:
        self.name = "bench" + uuid.uuid4().hex[:8]
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", str(WIDTH), "-y", str(HEIGHT),
             shlex.join(command)],
            check=True, env={**os.environ, "TERM": "xterm-256color"},
        )  # fmt: skip

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 60) -> float:
        """Seconds until `pattern` is on the screen."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if pattern.search(self.screen()):
                return time.perf_counter() - start
            time.sleep(0.005)
        raise SystemExit(f"timed out waiting for {pattern.pattern!r}:\n{self.screen()}")

    def timed(self, key: str, pattern: re.Pattern[str]) -> float:
        """Seconds from pressing `key` until `pattern` is on the screen."""
        self.keys(key)
        return self.wait_for(pattern)

    def keys(self, *names: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *names], check=True)

    def click(self, row: int, column: int) -> None:
        """Click at a screen cell (an SGR mouse report, as a terminal sends it)."""
        report = f"\x1b[<0;{column};{row}M\x1b[<0;{column};{row}m"
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", report], check=True)

    def app_pid(self) -> int:
        """The app's process: the pane's own, or its child when a shell runs it."""
        pane = subprocess.run(
            ["tmux", "display-message", "-p", "-t", self.name, "#{pane_pid}"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        pid = int(pane)
        while Path(f"/proc/{pid}/comm").read_text().strip() in ("sh", "bash", "dash", "zsh"):
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            if not children:
                break
            pid = int(children[0])
        return pid

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)


def peak_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def shown_ids(term: Terminal) -> list[int]:
    return [int(m) for m in ROW_ID.findall(term.screen())]


def thumb_row(term: Terminal, top: int, bottom: int) -> int:
    """The screen row of the grid's scrollbar thumb.

    Track cells are blank; the thumb is drawn with glyphs, in reverse video where it fills
    the whole cell, which is the cell to grab.
    """
    styled = subprocess.run(
        ["tmux", "capture-pane", "-e", "-p", "-t", term.name],
        capture_output=True, text=True, check=False,
    ).stdout.splitlines()  # fmt: skip
    plain = term.screen().splitlines()
    drawn = [
        row
        for row in range(top, min(bottom, len(plain)) + 1)
        if len(plain[row - 1]) >= WIDTH and plain[row - 1][-1] != " "
    ]
    for row in drawn:
        if "\x1b[7m" in styled[row - 1][-40:]:
            return row
    return drawn[0] if drawn else top


def drag_thumb(term: Terminal, to_row: int, top: int, bottom: int) -> None:
    """Drag the scrollbar thumb to `to_row` and let go, as a user does with the mouse."""
    from_row = thumb_row(term, top, bottom)
    press = f"\x1b[<0;{WIDTH};{from_row}M"
    move = f"\x1b[<32;{WIDTH};{to_row}M"
    release = f"\x1b[<0;{WIDTH};{to_row}m"
    for report in (press, move, release):
        subprocess.run(["tmux", "send-keys", "-t", term.name, "-l", report], check=True)
        time.sleep(0.05)


def page_through(term: Terminal) -> list[int]:
    """Scrollbar drags from Home to every tenth of the table, each followed by PageDowns, End.

    After each drag a click on a shown row puts the cursor there, so the PageDowns page on
    from that point. Returns the first row id shown after each drag, to prove it moved.
    """
    term.keys("Home")
    term.wait_for(FIRST_ROW)
    visited = []
    # The grid (column header included) spans the rows between the pane's header line
    # and the footer; its scrollbar is the last column of the screen.
    top, bottom = 5, HEIGHT - 1
    for tenth in range(1, 10):
        # Each drag starts from the top, where the thumb's place is certain.
        term.keys("Home")
        term.wait_for(FIRST_ROW)
        drag_thumb(term, top + (bottom - top + 1) * tenth // 10, top, bottom)
        # Wait for the rows at the new place (not the old ones still drawn) before reading.
        deadline = time.perf_counter() + 10
        while min(shown_ids(term), default=0) < 500_000 * tenth - 1000:
            if time.perf_counter() > deadline:
                break
            time.sleep(0.01)
        else:
            visited.append(min(shown_ids(term)))
        if len(visited) < tenth:
            # The rows at this place never came: report it and finish the walk at End.
            print(f"no rows shown 10 s after dragging to {tenth}/10 of the table", flush=True)
            visited.append(0)
            break
        term.click(top + 3, 4)
        for _ in range(20):
            term.keys("PageDown")
        time.sleep(0.2)
    term.keys("End")
    try:
        term.wait_for(LAST_ROW, timeout=10)
    except SystemExit:
        print("row 5,000,000 not shown 10 s after the final End", flush=True)
        visited.append(0)
    time.sleep(0.3)
    return visited


def measure_app(db: Path, rounds: int) -> tuple[list[float], list[float], float, list[int]]:
    """Drive `dbinspect DB`: open `events` from the Schema pane, End, page through."""
    dbinspect = Path(sys.executable).with_name("dbinspect")
    command = [str(dbinspect)] if dbinspect.exists() else [sys.executable, "-m", "dbinspect"]
    term = Terminal([*command, "--no-migrate", str(db)])
    try:
        term.wait_for(TABLE_LEAF)
        # The tree puts its cursor on the first table, the only one here: `events`.
        term.wait_for(TABLE_SHOWN)
        pid = term.app_pid()
        firsts, ends = [], []
        for _ in range(rounds):
            term.keys("3")
            term.wait_for(TABLE_SHOWN)
            time.sleep(1.0)  # let start-up and the previous round's work finish
            firsts.append(term.timed("d", FIRST_ROW))
            time.sleep(1.0)  # the row count and prefetching run after the first rows
            ends.append(term.timed("End", LAST_ROW))
        visited = page_through(term)
        return firsts, ends, peak_mb(pid), visited
    finally:
        term.close()


def measure_harness(db: Path, rounds: int) -> tuple[list[float], list[float], float, list[int]]:
    """Drive the standalone Data pane: `r` reopens the table, End jumps to the last row."""
    term = Terminal([sys.executable, "-m", "dbinspect.tui.data", str(db), "events"])
    try:
        term.wait_for(FIRST_ROW)
        pid = term.app_pid()
        firsts, ends = [], []
        for _ in range(rounds):
            time.sleep(1.0)
            ends.append(term.timed("End", LAST_ROW))
            time.sleep(1.0)
            firsts.append(term.timed("r", FIRST_ROW))
        visited = page_through(term)
        return firsts, ends, peak_mb(pid), visited
    finally:
        term.close()


def report(label: str, samples: list[float], target: float) -> bool:
    median = statistics.median(samples)
    runs = ", ".join(f"{s:.3f}" for s in samples)
    print(f"{label:<34} {median:6.3f} s  (runs {runs})  target <= {target} s")
    return median <= target


def main() -> int:
    compile_package()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, help="an events database (default: big_events())")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--harness", action="store_true", help="the standalone Data pane")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is needed to time the app as a user sees it", file=sys.stderr)
        return 1
    db: Path = args.db or big_events()
    measure: Callable[[Path, int], tuple[list[float], list[float], float, list[int]]]
    measure = measure_harness if args.harness else measure_app
    firsts, ends, peak, visited = measure(db, args.rounds)
    where = "standalone Data pane" if args.harness else "dbinspect"
    print(f"{where} on {db.name} ({db.stat().st_size / 1e6:.0f} MB); {REFERENCE}")
    ok = report("first rows after opening events", firsts, TARGET_FIRST)
    ok = report("End shows row 5,000,000", ends, TARGET_END) and ok
    print(f"{'peak memory, paging end to end':<34} {peak:6.1f} MB target <= {TARGET_MB:.0f} MB")
    print(f"{'first row id after each jump':<34} {', '.join(f'{v:,}' for v in visited)}")
    walked = bool(visited) and all(visited)
    return 0 if ok and walked and peak <= TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
