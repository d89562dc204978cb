"""Measures the Data pane on a 5,000,000-row table as a user sees it, in a real terminal.

Runs `python -m dbinspect.tui.data DB events` in tmux and times, from the screen:
first rows visible after start, the last row after End, and the peak memory (VmHWM) of
the app process after paging from the first row to the last (Home, scrollbar jumps
across the table, PageDown runs, End). Builds `benchmarks/data/events.db` with the
reference generator when it is missing (several minutes, once).

    python benchmarks/bench_data.py [--db benchmarks/data/events.db]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "benchmarks" / "data" / "events.db"
GENERATOR = Path("/work/shared/tools/make_bench_data.py")
TARGET_FIRST = 0.3
TARGET_END = 0.3
TARGET_MB = 100.0
LAST_ROW = re.compile(r"^\s*5000000\s", re.MULTILINE)
FIRST_ROW = re.compile(r"^\s*1\s+2026-01-01", re.MULTILINE)


def build(db: Path) -> None:
    """Build the 5M-row table with the reference generator."""
    db.parent.mkdir(parents=True, exist_ok=True)
    print(f"building {db} (takes a few minutes)...", flush=True)
    subprocess.run([sys.executable, str(GENERATOR), "data"], cwd=db.parent, check=True)
    (db.parent / "events5m.db").rename(db)


def screen(name: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True, check=False
    ).stdout


def wait_for(name: str, pattern: re.Pattern[str], timeout: float = 30) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if pattern.search(screen(name)):
            return time.perf_counter() - start
        time.sleep(0.005)
    raise SystemExit(f"timed out waiting for {pattern.pattern!r}:\n{screen(name)}")


def keys(name: str, *names: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", name, *names], check=True)


def app_pid(name: str) -> int:
    pane_pid = subprocess.run(
        ["tmux", "display-message", "-p", "-t", name, "#{pane_pid}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return int(pane_pid)


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def click_scrollbar(name: str, row: int, column: int) -> None:
    """Click the vertical scrollbar at a screen row (SGR mouse report)."""
    subprocess.run(
        ["tmux", "send-keys", "-t", name, "-l", f"\x1b[<0;{column};{row}M\x1b[<0;{column};{row}m"],
        check=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=DEFAULT_DB)
    args = parser.parse_args()
    db: Path = args.db
    if not db.exists():
        build(db)
    width, height = 160, 45
    name = "bench" + uuid.uuid4().hex[:8]
    command = shlex.join([sys.executable, "-m", "dbinspect.tui.data", str(db), "events"])
    started = time.perf_counter()
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command],
        check=True, env={**os.environ, "TERM": "xterm-256color"},
    )  # fmt: skip
    try:
        wait_for(name, FIRST_ROW)
        first = time.perf_counter() - started
        pid = app_pid(name)
        time.sleep(1.0)
        keys(name, "End")
        end = wait_for(name, LAST_ROW)
        keys(name, "r")  # select the table again, from its last rows
        selected = wait_for(name, FIRST_ROW)
        # Page from one end to the other: PageDown runs, scrollbar jumps at every tenth of
        # the table (each followed by more PageDowns), then End.
        for tenth in range(1, 10):
            click_scrollbar(name, 2 + (height - 4) * tenth // 10, width)
            time.sleep(0.15)
            for _ in range(20):
                keys(name, "PageDown")
            time.sleep(0.15)
        keys(name, "End")
        wait_for(name, LAST_ROW)
        time.sleep(0.3)
        peak = peak_mb(pid)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)
    print(f"first rows after selecting:  {selected:.3f} s (target <= {TARGET_FIRST} s)")
    print(f"first rows after app start:  {first:.3f} s (includes starting Python and Textual)")
    print(f"End shows row 5,000,000:     {end:.3f} s (target <= {TARGET_END} s)")
    print(f"peak memory, end to end:     {peak:.1f} MB (target <= {TARGET_MB:.0f} MB)")
    ok = selected <= TARGET_FIRST and end <= TARGET_END and peak <= TARGET_MB
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
