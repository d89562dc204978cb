"""Times `dbinspect check` on the 5,000,000-row database against the sqlite3 shell.

Runs `python -m dbinspect check DB` (integrity_check, foreign_key_check, and the rest:
there is no migrations folder, so no drift) and `sqlite3 DB "pragma integrity_check"`,
alternately, and prints the median and the best time of each and their ratios, with the
CPU seconds (user + system) of each process beside them (the machine may be shared).
Design target: within 1.2x. Uses benchmarks/data/events5000000.db (`datasets.py` builds
it when missing).

    python benchmarks/bench_check.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datasets import big_events

TARGET_RATIO = 1.2


def timed(command: list[str]) -> tuple[float, float, str]:
    """Run `command`: its wall seconds, CPU seconds and the last line it printed."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/")
    out = process.stdout.read() if process.stdout is not None else b""
    _, _, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    return elapsed, usage.ru_utime + usage.ru_stime, out.decode().strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    database = big_events()
    shell = shutil.which("sqlite3")
    if shell is None:
        sys.exit("the sqlite3 shell is not installed")
    ours_cmd = [sys.executable, "-m", "dbinspect", "check", str(database)]
    shell_cmd = [shell, str(database), "pragma integrity_check"]
    ours, theirs = [], []
    for _ in range(args.rounds):
        seconds, cpu, last = timed(shell_cmd)
        theirs.append(seconds)
        print(f"sqlite3 integrity_check: {seconds:6.2f} s (cpu {cpu:5.2f})  ({last})")
        seconds, cpu, last = timed(ours_cmd)
        ours.append(seconds)
        print(f"dbinspect check:         {seconds:6.2f} s (cpu {cpu:5.2f})  ({last})")
    for name, pick in (("median", statistics.median), ("best", min)):
        ratio = pick(ours) / pick(theirs)
        verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
        print(
            f"{name}: dbinspect {pick(ours):.2f} s, sqlite3 {pick(theirs):.2f} s,"
            f" ratio {ratio:.2f}x (target <= {TARGET_RATIO}x: {verdict})"
        )


if __name__ == "__main__":
    main()
