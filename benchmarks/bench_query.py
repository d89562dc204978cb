"""Times the Query pane (key 7) on `select * from events` over 5,000,000 rows, as a user sees it.

Both programs run in a detached tmux session (as ../shared/tools/tui_time.py does) and the
screen is polled, on SQLite (`datasets.big_events()`) and on PostgreSQL (`bench_pg5m`
from pg_datasets), beside harlequin 2.17 on the same data (harlequin_env).

dbinspect, each round a fresh app with fresh data folders (no saved buffers or history):
Query pane (`7`), `select * from events` typed into the editor, then
(a) from pressing ctrl+j until the result's first row (id 1) shows, and until its header
    reads `5,000,000 rows`;
(b) Escape (the focus to the grid), then from pressing End until row 5,000,000 shows;
(c) jumps: Home, scrollbar drags to a quarter, half and three quarters of the result, End;
    each until its rows show, then the app's peak memory (VmHWM);
(d) in another fresh app, the query run again, then `e` (the export dialog, CSV, the
    default file name), from Enter until the notice
    `Exported 5,000,000 rows` shows; beside `sqlite3 -header -csv` (SQLite) or psql's
    `\\copy ... csv header` (PostgreSQL, informative only), timed in the same round; then
    the peak memory again.
Targets: first rows <= 0.5 s, last row <= 2 s, <= 100 MB for the whole app, CSV export
within 2x of `sqlite3 -csv`. Times are the median of the rounds, memory the highest.

harlequin (one run per backend): the query typed into its editor, from ctrl+j until its
results show, capped (reference: 22 s and 3.2 GB on SQLite, 62-64 s on PostgreSQL).

Measured here at a load average near 1 on 2 cores: SQLite first rows 0.08 s, End 0.25 s,
jumps 0.2-0.9 s, 65.4 MB, export 9.8 s against sqlite3's 8.1 s (1.22x; the export runs in
parts, in worker processes of about 20 MB each, not counted in the app's figure);
harlequin 23 s and 3.2 GB. PostgreSQL first rows 0.09 s, End 0.09 s, jumps 0.2-0.4 s,
73.4 MB, export 42 s against psql's 6.3 s (one pass; informative); harlequin 107 s and
5.4 GB.

    python benchmarks/bench_query.py [--rounds N] [--only sqlite|postgres]
                                     [--no-harlequin] [--harlequin-timeout S]
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_data import HEIGHT, peak_mb
from bench_pg_tui import (
    EVENTS_LEAF,
    EXITED,
    ROW_ID,
    SCROLLBAR_COLUMN,
    Harlequin,
    ProgramEnded,
    Screen,
    hq_catalog,
    last_words,
    line,
    thumb_row,
    time_harlequin_query,
)
from bytecode import compile_package
from datasets import big_events
from harlequin_env import harlequin, version
from pg_datasets import HOST, PG5M, USER, pg5m

TARGET_FIRST_S = 0.5
TARGET_END_S = 2.0
TARGET_MB = 100.0
TARGET_EXPORT_RATIO = 2.0
ROWS = 5_000_000
QUERY = "select * from events"
REFERENCE = {
    "sqlite": "harlequin 2.17: 22 s and 3.2 GB (showing 100,000 rows)",
    "postgres": "harlequin 2.17 + harlequin-postgres: 62-64 s",
}

CURSOR_AT_END = re.compile(rf"\brow {ROWS:,}\s*$")
PLACEHOLDER = re.compile(r"^\s*…")
EDITOR_READY = re.compile(r"read-only\s+Query 1")
QUERY_TYPED = re.compile(r"\b1\s+select \* from events\s")
COUNTED = re.compile(rf"result\s+{ROWS:,} rows")
RESULT_HEADER = re.compile(r"^ result\b.*$", re.MULTILINE)
EXPORT_DIALOG = re.compile(r"Enter exports")
EXPORTED = re.compile(rf"Exported {ROWS:,} rows")
STEP_WAIT_S = 15.0
JUMP_WAIT_S = 30.0
EXPORT_WAIT_S = 180.0


def fresh_folders() -> list[str]:
    """`env` settings that give a program empty config, cache and data folders.

    Passed on the command line, not in tmux's environment: a tmux server that is already
    running gives a new session its own global environment, not the client's.
    """
    home = tempfile.mkdtemp(prefix="bench-query-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    names = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")
    return ["env", *(f"{name}={home}/{name}" for name in names)]


Jump = tuple[str, int, float | None]
"""Where the rows were asked for, the first row id shown there (0: none), and after how
many seconds (None: not within JUMP_WAIT_S)."""


@dataclass
class Round:
    """One round's figures; None where the screen never showed what was waited for."""

    first: float | None = None
    counted: float | None = None
    end: float | None = None
    jumps: list[Jump] = field(default_factory=list)
    peak_browse: float = float("nan")
    export: float | None = None
    export_bytes: int = 0
    peak_export: float = float("nan")
    reference_export: float = float("nan")
    reference_bytes: int = 0


def header_reads(term: Screen) -> str:
    """The result's header line (row count, cursor row), or the status bar's."""
    shown = term.screen()
    header = RESULT_HEADER.search(shown)
    if header:
        return " ".join(header.group().split())
    lines = shown.splitlines()
    return " ".join(lines[3].split()) if len(lines) > 3 else ""


def wait_or_none(term: Screen, pattern: re.Pattern[str], timeout: float, what: str) -> float | None:
    try:
        return term.wait_for(pattern, timeout=timeout)
    except TimeoutError:
        print(f"  {what}: not shown in {timeout:g} s; screen reads: {header_reads(term)}")
        return None


Ids = tuple[int, ...]


def grid_ids(shown: str) -> Ids | None:
    """The `id`s of the rows the result grid shows, None while any row is a placeholder
    (still being read) or the grid shows none."""
    lines = shown.splitlines()
    header = next((i for i, text in enumerate(lines) if RESULT_HEADER.match(text)), None)
    if header is None:
        return None
    body = lines[header + 2 : -1]  # below the column header, above the footer
    if not body or any(PLACEHOLDER.match(text) for text in body):
        return None
    ids = tuple(int(m) for m in ROW_ID.findall("\n".join(body)))
    return ids or None


def wait_rows(
    term: Screen, ready: Callable[[str, Ids], bool], timeout: float, what: str
) -> float | None:
    """Seconds until the grid shows rows (no placeholder) for which `ready` holds; None
    (and what the screen read) when it does not within `timeout`."""
    start = time.perf_counter()
    while True:
        shown = term.screen()
        ids = grid_ids(shown)
        if ids is not None and ready(shown, ids):
            return time.perf_counter() - start
        if EXITED.search(shown):
            raise ProgramEnded(last_words(shown))
        waited = time.perf_counter() - start
        if waited > timeout:
            print(f"  {what}: not shown in {timeout:g} s; screen reads: {header_reads(term)}; "
                  f"rows shown: {describe(ids)}")  # fmt: skip
            return None
        time.sleep(min(max(0.005, waited / 100), 0.25))


def describe(ids: Ids | None) -> str:
    return "placeholders or none" if ids is None else f"ids {ids[0]:,}..{ids[-1]:,}"


def first_rows(expected: int | None) -> Callable[[str, Ids], bool]:
    """The result's first rows: on SQLite row 1 is id 1. PostgreSQL may start a
    sequential scan where a concurrent one is (synchronize_seqscans), so any rows do."""
    return lambda shown, ids: expected is None or ids[0] == expected


def last_rows(expected: int | None) -> Callable[[str, Ids], bool]:
    """The cursor on the last row (the header reads `row 5,000,000`), rows drawn."""

    def ready(shown: str, ids: Ids) -> bool:
        header = RESULT_HEADER.search(shown)
        at_end = header is not None and CURSOR_AT_END.search(header.group()) is not None
        return at_end and (expected is None or ids[-1] == expected)

    return ready


def grid_rows(term: Screen) -> tuple[int, int]:
    """The screen rows (1-based) the result grid's scrollbar spans: column header to footer."""
    lines = term.screen().splitlines()
    header = next((i for i, text in enumerate(lines) if RESULT_HEADER.match(text)), 18)
    return header + 2, HEIGHT - 1


def drag_to(term: Screen, fraction: float) -> tuple[int, float | None]:
    """Drag the grid's scrollbar thumb from the top to `fraction` of its track.

    Returns the first row id shown there and how long after the motion (None: other
    rows were not drawn there within JUMP_WAIT_S).
    """
    top, bottom = grid_rows(term)
    to_row = top + round((bottom - top) * fraction)
    from_row = thumb_row(term, top, bottom)
    before = grid_ids(term.screen())
    term.keys("-l", f"\x1b[<0;{SCROLLBAR_COLUMN};{from_row}M")
    time.sleep(0.3)  # a busy app takes hold of the thumb a moment after the press
    # The grid follows the motion: timed from it. The button is let go once the rows are
    # there, or after 0.3 s when they are not yet.
    start = time.perf_counter()
    term.keys("-l", f"\x1b[<32;{SCROLLBAR_COLUMN};{to_row}M")
    released = False
    while True:
        ids = grid_ids(term.screen())
        if ids is not None and ids != before:
            took = time.perf_counter() - start
            break
        if not released and time.perf_counter() - start > 0.3:
            term.keys("-l", f"\x1b[<0;{SCROLLBAR_COLUMN};{to_row}m")
            released = True
        if time.perf_counter() - start > JUMP_WAIT_S:
            print(f"  drag to {fraction:.2f}: no rows there in {JUMP_WAIT_S:g} s; "
                  f"{header_reads(term)}; rows shown: {describe(ids)}")  # fmt: skip
            return 0, None
        time.sleep(0.01)
    if not released:
        term.keys("-l", f"\x1b[<0;{SCROLLBAR_COLUMN};{to_row}m")
    return ids[0], took


def jump_around(term: Screen, first: int | None, last: int | None) -> list[Jump]:
    """Home, drags to a quarter, a half and three quarters of the result, End."""
    jumps: list[Jump] = []
    for fraction in (0.25, 0.5, 0.75):
        term.keys("Home")
        if wait_rows(term, first_rows(first), STEP_WAIT_S, "Home") is None:
            jumps.append(("Home", 0, None))
            continue
        time.sleep(0.3)  # the scrollbar is drawn after the rows
        landed, took = drag_to(term, fraction)
        jumps.append((f"{fraction:.2f}", landed, took))
        time.sleep(0.3)
    term.keys("End")
    took = wait_rows(term, last_rows(last), JUMP_WAIT_S, "End after the drags")
    jumps.append(("End", ROWS if took is not None else 0, took))
    return jumps


def reference_export(backend: str, target: str, folder: Path) -> tuple[float, int]:
    """Seconds and bytes of the shell's own CSV of the query: sqlite3 or psql's \\copy."""
    out = folder / "reference.csv"
    start = time.perf_counter()
    if backend == "sqlite":
        with out.open("wb") as sink:
            subprocess.run(["sqlite3", "-header", "-csv", target, QUERY], stdout=sink, check=True)
    else:
        copy = f"\\copy ({QUERY}) to '{out}' csv header"
        subprocess.run(
            ["psql", "-h", HOST, "-U", USER, "-d", PG5M, "-qAt", "-c", copy],
            check=True, capture_output=True,
        )  # fmt: skip
    took = time.perf_counter() - start
    size = out.stat().st_size
    out.unlink()
    return took, size


def start_query(term: Screen, first: int | None, result: Round) -> int:
    """In a freshly started app: the Query pane, the query typed and run, its first rows
    and its row count timed into `result`. Returns the app's process id."""
    term.wait_for(EVENTS_LEAF)
    pid = term.app_pid()
    time.sleep(1.0)  # start-up's background work settles
    term.keys("7")
    term.wait_for(EDITOR_READY)
    time.sleep(0.5)
    term.keys("-l", QUERY)
    term.wait_for(QUERY_TYPED)
    time.sleep(0.3)
    term.keys("C-j")
    start = time.perf_counter()
    if wait_rows(term, first_rows(first), STEP_WAIT_S, "first rows") is not None:
        result.first = time.perf_counter() - start
    if wait_or_none(term, COUNTED, 60, "row count") is not None:
        result.counted = time.perf_counter() - start
    time.sleep(1.0)  # the count and prefetching follow the first rows
    term.keys("Escape")  # the focus from the editor to the grid
    time.sleep(0.5)
    return pid


def app_command(target: str) -> list[str]:
    return [*fresh_folders(), sys.executable, "-m", "dbinspect", target, "--no-migrate"]


def query_round(backend: str, target: str, export: bool) -> Round:
    """A fresh app: run the query, End, jumps; then another: run it and export it.

    The export has an app of its own, so that a step of the first that never ends (a
    jump whose rows never come) does not hold it up, and its memory is its own.
    """
    result = Round()
    # SQLite reads a rowid table in id order; PostgreSQL's order may vary (see first_rows).
    first, last = (1, ROWS) if backend == "sqlite" else (None, None)
    term = Screen(app_command(target))
    try:
        pid = start_query(term, first, result)
        term.keys("End")
        result.end = wait_rows(term, last_rows(last), STEP_WAIT_S, "End")
        time.sleep(0.5)
        result.jumps = jump_around(term, first, last)
        time.sleep(0.3)
        result.peak_browse = peak_mb(pid)
    finally:
        term.close()
    if export:
        export_round(backend, target, first, result)
    return result


def export_round(backend: str, target: str, first: int | None, result: Round) -> None:
    """The shell's CSV of the query, then the app's: run the query, `e`, Enter."""
    folder = Path(tempfile.mkdtemp(prefix="bench-query-"))  # where the export is written
    try:
        result.reference_export, result.reference_bytes = reference_export(backend, target, folder)
        term = Screen(app_command(target), cwd=folder)
        try:
            pid = start_query(term, first, Round())
            term.keys("e")
            if wait_or_none(term, EXPORT_DIALOG, STEP_WAIT_S, "export dialog") is None:
                return
            time.sleep(0.3)
            term.keys("Enter")
            result.export = wait_or_none(term, EXPORTED, EXPORT_WAIT_S, "export")
            time.sleep(0.3)
            result.peak_export = peak_mb(pid)
        finally:
            term.close()
        written = list(folder.glob("*.csv"))
        result.export_bytes = written[0].stat().st_size if written else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def harlequin_round(backend: str, target: str, timeout: float) -> Harlequin:
    """`select * from events` typed into harlequin's editor and run: until its rows show."""
    if backend == "sqlite":
        adapter, where, catalog = "sqlite", target, hq_catalog("main")
    else:
        adapter, where, catalog = "postgres", target, hq_catalog(PG5M)
    # --profile None: harlequin's defaults (no row limit), whatever config file it would find.
    command = [*fresh_folders(), *harlequin(), "-a", adapter, "--profile", "None", where]
    return time_harlequin_query(Screen(command), catalog, QUERY, timeout)


def report(backend: str, rounds: list[Round], hq: Harlequin | None, timeout: float) -> None:
    line("dbinspect: first rows after ctrl+j", [r.first for r in rounds],
         f"target <= {TARGET_FIRST_S} s", TARGET_FIRST_S)  # fmt: skip
    line("dbinspect: header reads 5,000,000 rows", [r.counted for r in rounds], "-")
    line("dbinspect: End shows row 5,000,000", [r.end for r in rounds],
         f"target <= {TARGET_END_S} s", TARGET_END_S)  # fmt: skip
    for number, r in enumerate(rounds, 1):
        jumps = ", ".join(
            f"{where} {first:,} ({took:.2f} s)" if took is not None else f"{where} MISSED"
            for where, first, took in r.jumps
        )
        print(f"  {f'  round {number}: jumps, first row shown':<44} {jumps}")
    peak = max(r.peak_browse for r in rounds)
    verdict = "ok" if peak <= TARGET_MB else "MISSED"
    runs = ", ".join(f"{r.peak_browse:.1f}" for r in rounds)
    print(f"  {'dbinspect: peak memory, run + End + jumps':<44} {peak:7.1f} MB  (runs {runs})  "
          f"target <= {TARGET_MB:.0f} MB  {verdict}")  # fmt: skip
    exported = [r for r in rounds if r.reference_bytes]
    if exported:
        shell = "sqlite3 -header -csv" if backend == "sqlite" else "psql \\copy csv header"
        ref = statistics.median(r.reference_export for r in exported)
        ours = [r.export for r in exported]
        done = [t for t in ours if t is not None]
        target = TARGET_EXPORT_RATIO * ref
        if backend == "sqlite":
            line("dbinspect: CSV export of the result", list(ours),
                 f"target <= {target:.2f} s (2x {shell})", target)  # fmt: skip
        else:
            line("dbinspect: CSV export of the result", list(ours), "informative")
        ref_runs = ", ".join(f"{r.reference_export:.3f}" for r in exported)
        print(f"  {f'{shell}, same rounds':<44} {ref:7.3f} s  (runs {ref_runs})")
        if done:
            ratio = statistics.median(done) / ref
            print(f"  {'  export / reference':<44} {ratio:7.2f}x")
        sizes = ", ".join(f"{r.export_bytes:,} vs {r.reference_bytes:,}" for r in exported)
        print(f"  {'  bytes written: dbinspect vs reference':<44} {sizes}")
        peak_x = max(r.peak_export for r in exported)
        verdict = "ok" if peak_x <= TARGET_MB else "MISSED"
        print(f"  {'dbinspect: peak memory, run + export':<44} {peak_x:7.1f} MB  "
              f"target <= {TARGET_MB:.0f} MB  {verdict}")  # fmt: skip
    if hq is not None:
        figure = f"{hq.took:7.3f} s" if hq.took is not None else f"  > {timeout:g} s"
        said = f" (it says: {hq.notice})" if hq.notice else ""
        print(f"  {'harlequin: rows shown after ctrl+j':<44} {figure}  "
              f"reference {REFERENCE[backend]}{said}")  # fmt: skip
        rows = f"  (rows shown: {hq.rows_shown})" if hq.rows_shown else ""
        print(f"  {'harlequin: peak memory':<44} {hq.peak:7.1f} MB{rows}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of dbinspect per backend")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--no-export", action="store_true", help="skip the CSV exports")
    parser.add_argument("--no-harlequin", action="store_true", help="skip harlequin's query")
    parser.add_argument(
        "--harlequin-timeout", type=float, default=120, help="cap on harlequin's query (s)"
    )
    args = parser.parse_args()
    # Stopped (a timeout, kill), it still closes its tmux sessions on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("tmux") is None:
        print("tmux is needed to time the apps as a user sees them", file=sys.stderr)
        return 1
    compile_package()
    if not args.no_harlequin:
        harlequin()
        print(f"reference: {version()}")
    backends = [args.only] if args.only else ["sqlite", "postgres"]
    for backend in backends:
        if backend == "sqlite":
            db = big_events()
            target = str(db)
            about = f"{db.name}, {db.stat().st_size / 1e6:.0f} MB"
        else:
            target, about = pg5m(), PG5M
        load = os.getloadavg()[0]
        print(f"{backend}: {QUERY} ({about}); load average {load:.1f} on {os.cpu_count()} cores")
        rounds: list[Round] = []
        for _ in range(args.rounds):
            try:
                rounds.append(query_round(backend, target, not args.no_export))
            except (TimeoutError, ProgramEnded) as failed:
                print(f"  dbinspect: round failed: {failed}")
        hq = None
        if not args.no_harlequin:
            try:
                hq = harlequin_round(backend, target, args.harlequin_timeout)
            except (TimeoutError, ProgramEnded) as failed:
                print(f"  harlequin: failed: {failed}")
        if rounds:
            report(backend, rounds, hq, args.harlequin_timeout)
        elif hq is not None:
            print(f"  harlequin: rows shown after {hq.took} s, peak {hq.peak:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
