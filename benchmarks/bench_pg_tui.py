"""Times the app on PostgreSQL as a user sees it, beside harlequin-postgres timed in the same run.

Both programs run in a detached tmux session (as ../shared/tools/tui_time.py does) and the
screen is polled. The databases come from pg_datasets (`bench_pg2k`, `bench_pg5m`), the
reference from harlequin_env (harlequin 2.17 with harlequin-postgres 1.5.2).

2,000 tables (`bench_pg2k`), the median of several runs after a warm-up, the two programs
taking turns so that the machine's load weighs on both alike:
- harlequin: its first frame, and the frame with its catalog listed (collapsed);
- dbinspect: launch until a table's leaf shows in the Schema tree.
  Target: <= 0.7 s, and at most half of harlequin's first frame in the same run. That
  frame, the catalog still loading, is the one the reference figure (1.35-1.54 s) times:
  at a load average below 2 it took 1.2-1.6 s here, and the listed catalog 0.6-1.1 s more.

5,000,000-row `events` (`bench_pg5m`):
- dbinspect: from pressing `d` on `events` in the Schema tree until its first row shows,
  and from pressing End until row 5,000,000 shows (median of several rounds); then the
  app's peak memory (VmHWM) after paging from one end of the table to the other (Home,
  scrollbar drags to every tenth, each followed by PageDowns, End).
  Targets: <= 0.3 s, <= 0.3 s, <= 100 MB.
  A step whose rows never show is printed with what the Data pane's header read, and
  counts as missed; the other steps still run.
- harlequin: from running `select * from events` (typed into its editor, ctrl+j) until
  its rows show, and its peak memory. Reference measured before: 62-64 s.

Until dbinspect opens PostgreSQL URLs, its figures read "dbinspect: not available yet".

    python benchmarks/bench_pg_tui.py [--runs N] [--rounds N] [--query-timeout S]
                                      [--no-harlequin-query] [--only 2k|5m]
"""

from __future__ import annotations

import argparse
import atexit
import compileall
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import HEIGHT, WIDTH, Terminal, peak_mb
from bytecode import compile_package
from harlequin_env import harlequin, version
from pg_datasets import PG2K, PG5M, pg2k, pg5m

TARGET_TREE_S = 0.7
TARGET_ROWS_S = 0.3
TARGET_END_S = 0.3
TARGET_MB = 100.0
REFERENCE_FRAME = "1.35-1.54 s"
REFERENCE_QUERY = "62-64 s"

# dbinspect's screens. Tree leaves are drawn with the app's own guides (`├ t12`).
TABLE_LEAF = re.compile(r"[├└] t\d+\b")
EVENTS_LEAF = re.compile(r"[├└] events\b")
EVENTS_DETAIL = re.compile(r"table events\b")  # the Schema pane's detail: the cursor is on it


def row_shown(row_id: int) -> re.Pattern[str]:
    """`events` row `row_id` in the Data grid: its id, then its timestamp."""
    return re.compile(rf"^\W*{row_id}\s+\d{{4}}-\d\d-\d\d", re.MULTILINE)


FIRST_ROW, LAST_ROW = row_shown(1), row_shown(5_000_000)
ROW_ID = re.compile(r"^\W*(\d+)\s+\d{4}-\d\d-\d\d", re.MULTILINE)
EXITED = re.compile(r"\[exited (\d+)\]")

# harlequin's screens: the frame drawn while its catalog loads, then the catalog's
# databases listed collapsed (`▶ bench_pg2k db`), and a results table's first cell.
HQ_FIRST_FRAME = re.compile(r"Data Catalog")


def hq_catalog(database: str) -> re.Pattern[str]:
    return re.compile(rf"▶ {database} db")


HQ_ROWS = re.compile(r"Query Results \(")
HQ_ROWS_SHOWN = re.compile(r"Query Results \(([^)]*)\)")
HQ_NOTICE = re.compile(r"executed successfully in [\d.]+ seconds")


class Screen(Terminal):
    """bench_data's tmux terminal, with an environment, a timeout that can be caught,
    and a line on the screen when the program ends (its exit status and last words)."""

    def __init__(
        self, command: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> None:
        self.name = "bench" + uuid.uuid4().hex[:8]
        # The shell stays after the program ends, so that an error it printed can be read.
        shell = f'{shlex.join(command)}; echo "[exited $?]"; sleep 30'
        for attempt in range(3):
            # A tmux server that is shutting down (its last session just closed) refuses
            # a new session for a moment.
            started = subprocess.run(
                ["tmux", "new-session", "-d", "-s", self.name, "-x", str(WIDTH),
                 "-y", str(HEIGHT), "-c", str(cwd or Path.cwd()), shell],
                capture_output=attempt < 2, check=attempt == 2,
                env={**os.environ, "TERM": "xterm-256color", **(env or {})},
            )  # fmt: skip
            if started.returncode == 0:
                break
            time.sleep(0.2)
        self.started = time.perf_counter()

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 60) -> float:
        """Seconds until `pattern` is on the screen; TimeoutError, or ProgramEnded."""
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            shown = self.screen()
            if pattern.search(shown):
                return time.perf_counter() - start
            if EXITED.search(shown):
                raise ProgramEnded(last_words(shown))
            # Each look is a tmux process: looked for every 5 ms through a minute-long
            # query, they would take a core from the program timed. The pause grows
            # with the wait, keeping the error within 1% of it.
            time.sleep(min(max(0.005, (time.perf_counter() - start) / 100), 0.25))
        raise TimeoutError(
            f"{pattern.pattern!r} not shown within {timeout:g} s; last line: {last_words(shown)}"
        )

    def since_start(self, pattern: re.Pattern[str], timeout: float = 60) -> float:
        """Seconds from launching the program until `pattern` is on the screen."""
        self.wait_for(pattern, timeout)
        return time.perf_counter() - self.started


class ProgramEnded(Exception):
    """The program in the terminal exited; the message is what it printed last."""


def last_words(shown: str) -> str:
    lines = [line.strip() for line in shown.splitlines() if line.strip()]
    before = [line for line in lines if not EXITED.search(line)]
    status = EXITED.search(shown)
    return f"{before[-1] if before else 'no output'} (exit {status.group(1) if status else '?'})"


APP_DIR: Path | None = None
"""Where `python -m dbinspect` is started: None for the working tree (the editable
install), or a folder holding one commit's `dbinspect` package (see --commit)."""


def dbinspect(url: str) -> list[str]:
    return [sys.executable, "-m", "dbinspect", url, "--no-migrate"]


def app_screen(url: str) -> Screen:
    return Screen(dbinspect(url), cwd=APP_DIR)


def snapshot(revision: str) -> Path:
    """The `dbinspect` package as committed at `revision`, exported once and compiled.

    `python -m` puts its working folder first on sys.path, ahead of the editable install's
    finder, so an app started there runs that commit whatever the working tree holds.
    """
    repo = Path(__file__).resolve().parents[1]
    sha = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short=12", revision],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    folder = repo / "benchmarks" / ".cache" / f"dbinspect-{sha}"
    if not (folder / "dbinspect").exists():
        for older in folder.parent.glob("dbinspect-*"):  # one commit's copy is kept at a time
            shutil.rmtree(older, ignore_errors=True)
        partial = folder.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", sha, "dbinspect"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        compileall.compile_dir(partial / "dbinspect", quiet=1)
        partial.rename(folder)
    return folder


def harlequin_env() -> dict[str, str]:
    """Fresh config, cache and data folders: no saved buffers, history or catalog cache."""
    home = tempfile.mkdtemp(prefix="bench-harlequin-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    return {
        name: f"{home}/{name}" for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")
    }


def harlequin_cmd(database: str) -> list[str]:
    # --profile None: harlequin's defaults, whatever config file it would find.
    return [
        *harlequin(),
        "-a",
        "postgres",
        "--profile",
        "None",
        f"postgresql://postgres@127.0.0.1/{database}",
    ]


def probe_dbinspect(url: str, leaf: re.Pattern[str]) -> str | None:
    """Why dbinspect cannot be timed on `url` yet, or None when its tree shows a table."""
    term = app_screen(url)
    try:
        term.wait_for(leaf, timeout=30)
        return None
    except ProgramEnded as ended:
        return str(ended)
    except TimeoutError:
        return f"no table in the Schema tree within 30 s; last line: {last_words(term.screen())}"
    finally:
        term.close()


def first_frames(url: str, runs: int, app_ready: str | None) -> None:
    """harlequin's first frames and dbinspect's filled tree on 2,000 tables, taking turns."""
    hq_first: list[float] = []
    hq_listed: list[float] = []
    ours: list[float] = []

    def harlequin_once() -> tuple[float, float]:
        term = Screen(harlequin_cmd(PG2K), harlequin_env())
        try:
            return term.since_start(HQ_FIRST_FRAME), term.since_start(hq_catalog(PG2K))
        finally:
            term.close()

    def dbinspect_once() -> float:
        term = app_screen(url)
        try:
            return term.since_start(TABLE_LEAF)
        finally:
            term.close()

    harlequin_once()  # warm-ups: files and catalogs in the caches
    if app_ready is None:
        dbinspect_once()
    for _ in range(runs):
        first, listed = harlequin_once()
        hq_first.append(first)
        hq_listed.append(listed)
        if app_ready is None:
            ours.append(dbinspect_once())
    print(f"2,000 tables ({PG2K}), median of {runs} runs after a warm-up")
    line("harlequin: first frame (catalog loading)", list(hq_first), f"reference {REFERENCE_FRAME}")
    line("harlequin: catalog listed (collapsed)", list(hq_listed), "-")
    if app_ready is not None:
        print(f"  {'dbinspect: Schema tree lists tables':<44} not available yet: {app_ready}")
        return
    half = statistics.median(hq_first) / 2
    target = f"target <= {TARGET_TREE_S} s and <= {half:.3f} s (half of harlequin's)"
    line("dbinspect: Schema tree lists tables", list(ours), target, min(TARGET_TREE_S, half))


def line(label: str, samples: list[float | None], beside: str, target: float | None = None) -> None:
    """The median of the samples shown; a sample of None (never shown) misses the target."""
    shown = [s for s in samples if s is not None]
    runs = ", ".join("none" if s is None else f"{s:.3f}" for s in samples)
    median = f"{statistics.median(shown):7.3f} s" if shown else "  never  "
    verdict = ""
    if target is not None:
        met = len(shown) == len(samples) and statistics.median(shown) <= target
        verdict = "  ok" if met else "  MISSED"
    print(f"  {label:<44} {median}  (runs {runs})  {beside}{verdict}")


ROUND_WAIT_S = 15.0
DATA_HEADER = re.compile(r"^ events  .*rows.*$", re.MULTILINE)


def pane_reads(term: Screen) -> str:
    """The Data pane's header line (table, row count, cursor row), or the pane's first line."""
    shown = term.screen()
    header = DATA_HEADER.search(shown)
    lines = shown.splitlines()
    line = header.group() if header else (lines[3] if len(lines) > 3 else "")
    return " ".join(line.split())


def timed_or_none(term: Screen, key: str, pattern: re.Pattern[str]) -> float | None:
    """Seconds from pressing `key` until `pattern` shows; None, and what the Data pane's
    header read, when it does not within ROUND_WAIT_S."""
    term.keys(key)
    try:
        return term.wait_for(pattern, timeout=ROUND_WAIT_S)
    except TimeoutError:
        print(f"  {key}: {pattern.pattern!r} not shown in {ROUND_WAIT_S:g} s; {pane_reads(term)}")
        return None


def shown_ids(term: Screen) -> list[int]:
    return [int(m) for m in ROW_ID.findall(term.screen())]


Jump = tuple[str, int, float | None]
"""Where the rows were asked for, the first row id shown there (0: none), and after how
many seconds (None: rows did not move there within JUMP_WAIT_S)."""
JUMP_WAIT_S = 30.0
SCROLLBAR_COLUMN = WIDTH - 1
"""Textual's vertical scrollbar is two cells wide here, and a press on the screen's last
column does not reach it: the mouse grabs it one column in."""
THUMB_END = re.compile(r"\x1b\[7m(?:\x1b\[[\d;]*m)*$")
"""A line ending in a reverse-video cell: the scrollbar's thumb, drawn as a blank that
tmux trims from the plain capture."""


def thumb_row(term: Screen, top: int, bottom: int) -> int:
    """The screen row of the grid's scrollbar thumb (the last column), `top` if not seen."""
    styled = subprocess.run(
        ["tmux", "capture-pane", "-e", "-p", "-t", term.name],
        capture_output=True, text=True, check=False,
    ).stdout.splitlines()  # fmt: skip
    rows = [r for r in range(top, min(bottom, len(styled)) + 1) if THUMB_END.search(styled[r - 1])]
    return rows[0] if rows else top


def drag(term: Screen, to_row: int, top: int, bottom: int) -> None:
    """Drag the scrollbar thumb to `to_row` and let go, as a user does with the mouse.

    One motion, with pauses around it: a busy app takes hold of the thumb a moment
    after the press.
    """
    from_row, col = thumb_row(term, top, bottom), SCROLLBAR_COLUMN
    term.keys("-l", f"\x1b[<0;{col};{from_row}M")
    time.sleep(0.3)
    term.keys("-l", f"\x1b[<32;{col};{to_row}M")
    time.sleep(0.3)
    term.keys("-l", f"\x1b[<0;{col};{to_row}m")


def count_settled(term: Screen) -> bool:
    """Wait for the pane's exact count to end; Escape stops it after COUNT_WAIT_S.

    A drag made while the count runs is not followed (the thumb is not taken hold of), so
    each drag waits for it. False when it had to be stopped.
    """
    deadline = time.perf_counter() + COUNT_WAIT_S
    while "counting" in pane_reads(term):
        if time.perf_counter() > deadline:
            term.keys("Escape")
            while "counting" in pane_reads(term) and time.perf_counter() < deadline + 5:
                time.sleep(0.05)
            return False
        time.sleep(0.05)
    return True


COUNT_WAIT_S = 5.0


def page_end_to_end(term: Screen) -> list[Jump]:
    """Home and PageDowns, scrollbar drags to every tenth of the table each followed by
    PageDowns, then End: where each jump landed and how long its rows took. A step that
    fails is reported and the walk goes on, so that the memory figure is still read."""
    top, bottom = 5, HEIGHT - 1  # the scrollbar: the last column, from the column header down
    jumps: list[Jump] = []
    for tenth in range(0, 10):
        where = f"{tenth}/10"
        # Each drag starts from the top, where the thumb's place is certain.
        if timed_or_none(term, "Home", FIRST_ROW) is None:
            jumps.append((f"{where} (Home failed)", 0, None))
            continue
        time.sleep(0.3)  # the scrollbar is drawn after the rows
        if tenth:
            if not count_settled(term):
                where += " (count stopped with Esc first)"
            drag(term, top + (bottom - top) * tenth // 10, top, bottom)
        start, deadline = time.perf_counter(), time.perf_counter() + JUMP_WAIT_S
        # A jump goes by the key's histogram, so it lands near the tenth, not on it: any
        # place past a fifth of the way there counts (where it landed is printed).
        while min(shown_ids(term), default=0) < 100_000 * tenth:
            if time.perf_counter() > deadline:
                jumps.append((where, min(shown_ids(term), default=0), None))
                print(f"  drag to {where}: no rows there in {JUMP_WAIT_S:g} s; {pane_reads(term)}")
                break
            time.sleep(0.01)
        else:
            jumps.append((where, min(shown_ids(term)), time.perf_counter() - start))
            term.click(top + 3, 4)  # the cursor onto a shown row, so PageDown goes on from it
        for _ in range(20):
            term.keys("PageDown")
        time.sleep(0.2)
    took = timed_or_none(term, "End", LAST_ROW)
    jumps.append(("End", 5_000_000 if took is not None else 0, took))
    time.sleep(0.3)
    return jumps


def jump_summary(jumps: list[Jump]) -> str:
    return ", ".join(
        f"{where} {first:,} ({took:.2f} s)" if took is not None else f"{where} {first:,} (MISSED)"
        for where, first, took in jumps
    )


def dbinspect_events(rounds: int) -> None:
    """First rows and End on `events`, then the peak memory after paging it end to end."""
    term = app_screen(pg5m())
    try:
        term.wait_for(EVENTS_LEAF)
        pid = term.app_pid()
        firsts: list[float | None] = []
        ends: list[float | None] = []
        for _ in range(rounds):
            term.keys("3")  # the Schema pane, its cursor on the only table: events
            term.wait_for(EVENTS_DETAIL)
            time.sleep(1.0)  # start-up and the previous round's background work settle
            firsts.append(timed_or_none(term, "d", FIRST_ROW))
            time.sleep(1.0)  # the estimate and prefetching follow the first rows
            ends.append(timed_or_none(term, "End", LAST_ROW))
        jumps = page_end_to_end(term)
        peak = peak_mb(pid)
    finally:
        term.close()
    line("dbinspect: first rows after opening events", firsts, f"target <= {TARGET_ROWS_S} s",
         TARGET_ROWS_S)  # fmt: skip
    line("dbinspect: End shows row 5,000,000", ends, f"target <= {TARGET_END_S} s",
         TARGET_END_S)  # fmt: skip
    verdict = "ok" if peak <= TARGET_MB else "MISSED"
    missed = sum(took is None for _, _, took in jumps)
    walk = f"; walk incomplete: {missed} of {len(jumps)} steps failed" if missed else ""
    print(f"  {'dbinspect: peak memory, paging end to end':<44} {peak:7.1f} MB  "
          f"target <= {TARGET_MB:.0f} MB  {verdict}{walk}")  # fmt: skip
    print(f"  {'  where each jump landed, rows shown after':<44} {jump_summary(jumps)}")


@dataclass
class Harlequin:
    """What harlequin showed for a query: seconds until its rows (None: not within the
    cap), its peak memory, the rows its header says it shows, and its own notice."""

    took: float | None
    peak: float
    rows_shown: str
    notice: str


def time_harlequin_query(term: Screen, catalog: str, query: str, timeout: float) -> Harlequin:
    """`query` typed into harlequin's editor (in `term`) and run, until its rows show."""
    try:
        term.wait_for(catalog)
        pid = term.app_pid()
        time.sleep(1.0)  # the editor takes keys once the catalog is in
        term.keys("-l", query)
        time.sleep(0.5)
        term.keys("C-j")
        try:
            took: float | None = term.wait_for(HQ_ROWS, timeout=timeout)
        except TimeoutError:
            took = None
        time.sleep(0.5)  # its notice of the query's own duration follows the rows
        peak = peak_mb(pid)
        shown = term.screen()
    finally:
        term.close()
    header = HQ_ROWS_SHOWN.search(shown)
    notice = HQ_NOTICE.search(shown)
    return Harlequin(
        took, peak, header.group(1) if header else "", notice.group() if notice else ""
    )


def harlequin_query(timeout: float) -> None:
    """`select * from events` typed into harlequin's editor and run: until its rows show."""
    term = Screen(harlequin_cmd(PG5M), harlequin_env())
    hq = time_harlequin_query(term, hq_catalog(PG5M), "select * from events", timeout)
    figure = f"{hq.took:7.3f} s" if hq.took is not None else f"  > {timeout:g} s"
    label = "harlequin: select * from events, rows shown"
    said = f" (it says: {hq.notice})" if hq.notice else ""
    print(f"  {label:<44} {figure}  reference {REFERENCE_QUERY}{said}")
    rows = f"  (rows shown: {hq.rows_shown})" if hq.rows_shown else ""
    print(f"  {'harlequin: peak memory':<44} {hq.peak:7.1f} MB{rows}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="first-frame runs per program")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of d and End on events")
    parser.add_argument(
        "--query-timeout", type=float, default=600, help="cap on harlequin's query (s)"
    )
    parser.add_argument(
        "--no-harlequin-query", action="store_true", help="skip the minute-long query"
    )
    parser.add_argument("--only", choices=["2k", "5m"])
    parser.add_argument(
        "--commit", metavar="REV", help="time dbinspect as committed at REV, not the working tree"
    )
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tmux is needed to time the apps as a user sees them", file=sys.stderr)
        return 1
    global APP_DIR
    if args.commit:
        APP_DIR = snapshot(args.commit)
    else:
        compile_package()
    harlequin()
    print(f"dbinspect: {APP_DIR.name if APP_DIR else 'working tree'}")
    print(
        f"reference: {version()}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    measures: list[Callable[[], None]] = []
    if args.only != "5m":
        url = pg2k()
        ready = probe_dbinspect(url, TABLE_LEAF)
        measures.append(lambda: first_frames(url, args.runs, ready))
    if args.only != "2k":
        ready_5m = probe_dbinspect(pg5m(), EVENTS_LEAF)
        measures.append(lambda: events_figures(args, ready_5m))
    for measure in measures:
        measure()
    return 0


def events_figures(args: argparse.Namespace, app_ready: str | None) -> None:
    print(f"5,000,000-row events ({PG5M})")
    if app_ready is None:
        try:
            dbinspect_events(args.rounds)
        except (TimeoutError, ProgramEnded) as failed:
            print(f"  dbinspect: failed on events: {failed}")
    else:
        print(f"  {'dbinspect: first rows, End, peak memory':<44} not available yet: {app_ready}")
    if not args.no_harlequin_query:
        harlequin_query(args.query_timeout)


if __name__ == "__main__":
    sys.exit(main())
