"""Times `dbinspect schema --format json` on the 2,000-table PostgreSQL database.

Target: <= 1 s for the whole command (start-up, the catalog read, the JSON written).
Beside it, for reference on the same server: `dbinspect info`, and `pg_dump
--schema-only` (what `schema --format sql` runs). Each line also gives the CPU time of the
command's own process, which other work on a shared machine does not inflate as much as
the wall time (the server's share is in the wall time only).

    python benchmarks/bench_pg_schema.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bytecode import compile_package
from pg_datasets import pg2k

REPO = Path(__file__).resolve().parents[1]
DBINSPECT = [sys.executable, "-m", "dbinspect"]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def timed(command: list[str], runs: int) -> tuple[float, float, float]:
    """Median and best wall time of `command` over `runs` runs, after one warm-up run, and
    the median CPU time of its own process (user + system: the server's is not in it)."""
    subprocess.run(command, capture_output=True, check=True, env=ENV)
    samples, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, env=ENV)
        samples.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(samples), min(samples), statistics.median(cpu)


def report(label: str, figures: tuple[float, float, float], target: str) -> None:
    median, best, cpu = figures
    print(f"{label:<46} {median:6.3f} s (best {best:.3f}, own CPU {cpu:.3f})   {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    compile_package()
    url = pg2k()
    load = os.getloadavg()[0]
    print(f"bench_pg2k: 2,000 tables, 4,000 indexes, 200 views; load average {load:.1f}")
    report(
        "dbinspect schema --format json (2,000 tables)",
        timed([*DBINSPECT, "schema", "--format", "json", url], runs),
        "target <= 1 s",
    )
    report("dbinspect info", timed([*DBINSPECT, "info", url], runs), "reference")
    if shutil.which("pg_dump"):
        report(
            "pg_dump --schema-only (reference)",
            timed(["pg_dump", "--schema-only", "--no-password", f"--dbname={url}"], runs),
            "reference",
        )


if __name__ == "__main__":
    main()
