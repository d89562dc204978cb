"""Times `dbinspect backup` on the 5,000,000-row `events` database beside the sqlite3 shell.

Each backup runs as the command line runs it (a process of its own, whose peak memory is
read from its own resource usage), in the same run as the shell's equivalent:

    backup sqlite   vs  sqlite3 db ".backup copy"   target: within 1.2x
    backup sql      vs  sqlite3 db .dump > file     target: within 1.5x
    backup json                                     target: at most 100 MB of memory

Uses benchmarks/data/events5000000.db (`datasets.py` builds and caches it; `--build`
builds it here); `--rows N` times a smaller table built the same way.

    python benchmarks/bench_ops.py [--build] [--rows N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datasets import DATA, big_events

TARGETS = {"sqlite": 1.2, "sql": 1.5}
JSON_MEMORY_MB = 100


def timed(command: list[str], stdout: Path | None = None) -> tuple[float, float]:
    """Run `command`; its wall time in seconds and its peak memory in MB."""
    out = stdout.open("wb") if stdout is not None else subprocess.DEVNULL
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if stdout is not None:
        out.close()  # type: ignore[union-attr]
    if status != 0:
        sys.exit(f"{command[0]} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="build the database if missing")
    parser.add_argument("--rows", type=int, default=5_000_000)
    args = parser.parse_args()
    database = DATA / f"events{args.rows}.db"
    if not database.exists():
        if not args.build and args.rows == 5_000_000:
            sys.exit(f"{database} is missing: run with --build (a few minutes)")
        database = big_events(args.rows)
    shell = shutil.which("sqlite3")
    dbinspect = [sys.executable, "-m", "dbinspect", "backup", str(database)]
    print(f"{database.name}: {database.stat().st_size / 1e6:,.0f} MB")
    with tempfile.TemporaryDirectory(dir=DATA) as folder:
        tmp = Path(folder)
        for fmt in ("sqlite", "sql", "json"):
            ours, memory = timed([*dbinspect, "--format", fmt, "-o", str(tmp / f"ours.{fmt}")])
            line = f"backup {fmt:<6} {ours:6.2f} s  peak {memory:5.0f} MB"
            if fmt in TARGETS and shell is not None:
                copy = tmp / f"shell.{fmt}"
                if fmt == "sqlite":
                    theirs, _ = timed([shell, str(database), f".backup '{copy}'"])
                    what = '".backup"'
                else:
                    theirs, _ = timed([shell, str(database), ".dump"], stdout=copy)
                    what = ".dump"
                ratio = ours / theirs
                verdict = "ok" if ratio <= TARGETS[fmt] else "MISSED"
                line += f"  | sqlite3 {what} {theirs:6.2f} s  ratio {ratio:4.2f}x"
                line += f" (target {TARGETS[fmt]}x: {verdict})"
            elif fmt == "json":
                verdict = "ok" if memory <= JSON_MEMORY_MB else "MISSED"
                line += f"  (target <= {JSON_MEMORY_MB} MB: {verdict})"
            print(line, flush=True)
            for leftover in tmp.iterdir():
                leftover.unlink()


if __name__ == "__main__":
    main()
