"""Times `dbinspect check` on the 5,000,000-row database against the sqlite3 shell.

Runs `python -m dbinspect check DB` (integrity_check, foreign_key_check, and the rest:
there is no migrations folder, so no drift) and `sqlite3 DB "pragma integrity_check"`,
alternately, and prints the best time of each and their ratio. Design target: within
1.2x. Uses benchmarks/data/events5000000.db (`datasets.py` builds it when missing).

    python benchmarks/bench_check.py [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datasets import big_events

TARGET_RATIO = 1.2


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd="/")
    return time.perf_counter() - started, done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    database = big_events()
    shell = shutil.which("sqlite3")
    if shell is None:
        sys.exit("the sqlite3 shell is not installed")
    ours_cmd = [sys.executable, "-m", "dbinspect", "check", str(database)]
    shell_cmd = [shell, str(database), "pragma integrity_check"]
    ours, theirs = [], []
    for _ in range(args.rounds):
        seconds, last = timed(shell_cmd)
        theirs.append(seconds)
        print(f"sqlite3 integrity_check: {seconds:6.2f} s  ({last})")
        seconds, last = timed(ours_cmd)
        ours.append(seconds)
        print(f"dbinspect check:         {seconds:6.2f} s  ({last})")
    ratio = min(ours) / min(theirs)
    verdict = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"best: dbinspect {min(ours):.2f} s, sqlite3 {min(theirs):.2f} s, ratio {ratio:.2f}x")
    print(f"target <= {TARGET_RATIO}x: {verdict}")


if __name__ == "__main__":
    main()
