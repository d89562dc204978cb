"""Times the command line: --version, --help, and `schema` on a 2,000-table database.

Targets: --version and --help <= 0.15 s; `schema` on 2,000
tables <= 0.25 s (sqlite-utils 4.2 `tables --schema`: 0.85 s; `sqlite3 .schema`: 0.03 s).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bytecode import compile_package
from datasets import big_schema

DBINSPECT = [sys.executable, "-m", "dbinspect"]


def timed(command: list[str], runs: int = 7) -> float:
    """Median wall time of `command` over `runs` runs, after one warm-up run."""
    subprocess.run(command, capture_output=True, check=True)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def report(label: str, seconds: float, target: str) -> None:
    print(f"{label:<44} {seconds:6.3f} s   (target {target})")


def main() -> None:
    compile_package()
    report("dbinspect --version", timed([*DBINSPECT, "--version"]), "<= 0.15 s")
    report("dbinspect --help", timed([*DBINSPECT, "--help"]), "<= 0.15 s")
    db = big_schema(2000)
    report("dbinspect schema (2,000 tables)", timed([*DBINSPECT, "schema", str(db)]), "<= 0.25 s")
    report(
        "dbinspect schema --format json (2,000 tables)",
        timed([*DBINSPECT, "schema", "--format", "json", str(db)]),
        "reference only",
    )
    if shutil.which("sqlite3"):
        report("sqlite3 .schema (reference)", timed(["sqlite3", str(db), ".schema"]), "0.03 s")
    if shutil.which("sqlite-utils"):
        report(
            "sqlite-utils tables --schema (reference)",
            timed(["sqlite-utils", "tables", "--schema", str(db)]),
            "0.85 s",
        )


if __name__ == "__main__":
    main()
