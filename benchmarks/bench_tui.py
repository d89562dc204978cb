"""Times the app as a user sees it: launch until the Schema tree lists objects.

Runs `dbinspect DB --no-migrate` in a detached tmux session (120x40) and polls the
screen until a leaf of the tree (`├ t123`) appears, as ../shared/tools/tui_time.py does.
Targets: 2,000 tables <= 0.5 s (harlequin 2.17: about 1.0 s to its
first frame); 20,000 tables <= 1 s (a Tree filled eagerly: 2.4 s; harlequin: about 1 s,
catalog collapsed). Each figure is the median of several runs after a warm-up run.
"""

from __future__ import annotations

import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bytecode import compile_package
from datasets import big_schema

DBINSPECT = [sys.executable, "-m", "dbinspect"]
TREE_LEAF = re.compile(r"[├└] t\d+\b")
BARE_LEAF = re.compile(r"[├└]── t\d+\b")  # Textual's default tree guides
FIRST_FRAME = re.compile(r"Connection +Metadata")


def screen(name: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", name], capture_output=True, text=True, check=False
    ).stdout


def time_until(command: list[str], pattern: re.Pattern[str], timeout: float = 60) -> float:
    """Seconds from starting `command` in tmux until `pattern` is on its screen."""
    name = "bench" + uuid.uuid4().hex[:8]
    start = time.perf_counter()
    for attempt in range(3):
        # A tmux server that is shutting down (the last session just closed) refuses
        # a new session for a moment.
        started = subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", shlex.join(command)],
            check=attempt == 2,
        )
        if started.returncode == 0:
            break
        time.sleep(0.2)
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < timeout:
            if pattern.search(screen(name)):
                return time.perf_counter() - start
            time.sleep(0.01)
        raise TimeoutError(f"{pattern.pattern!r} not shown within {timeout} s:\n{screen(name)}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)


def median_time(command: list[str], pattern: re.Pattern[str], runs: int) -> tuple[float, float]:
    """Median and best of `runs` timings, after one warm-up run (file in the page cache)."""
    time_until(command, pattern)
    samples = [time_until(command, pattern) for _ in range(runs)]
    return statistics.median(samples), min(samples)


# The least any Textual app pays on this machine: start Python, import Textual, draw a
# Tree of 200 leaves. It puts the app's own figures in context.
BARE_TEXTUAL_APP = """
from textual.app import App
from textual.widgets import Footer, TabbedContent, TabPane, Tree

class Bare(App):
    def compose(self):
        with TabbedContent():
            with TabPane("Schema"):
                tree = Tree("Tables")
                for i in range(200):
                    tree.root.add_leaf(f"t{i}")
                tree.root.expand()
                yield tree
        yield Footer()

Bare().run()
"""


def report(label: str, times: tuple[float, float], target: str) -> None:
    median, best = times
    print(f"{label:<46} {median:6.3f} s  (best {best:.3f})  target {target}")


def main() -> int:
    compile_package()
    if shutil.which("tmux") is None:
        print("tmux is needed to time the app as a user sees it", file=sys.stderr)
        return 1
    small, large = big_schema(2000), big_schema(20000)
    app = [*DBINSPECT, "--no-migrate"]
    bare = [sys.executable, "-c", BARE_TEXTUAL_APP]
    report("bare Textual app, Tree of 200 leaves (floor)", median_time(bare, BARE_LEAF, 7), "-")
    report("first frame (2,000 tables)", median_time([*app, str(small)], FIRST_FRAME, 7), "-")
    report("schema tree lists objects (2,000 tables)",
           median_time([*app, str(small)], TREE_LEAF, 7), "<= 0.5 s")  # fmt: skip
    report("schema tree lists objects (20,000 tables)",
           median_time([*app, str(large)], TREE_LEAF, 5), "<= 1 s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
