"""Times exporting the 5,000,000-row `events` table to CSV, against `sqlite3 -csv`.

Exports through `dbinspect.export` (as the Data pane and `dbinspect export` do: in parts,
by worker processes, for a table this size) and through the sqlite3 shell, each into a
file, and prints both times, their ratio and the peak memory of the exporting process and
of its largest worker. Design target: within 2x of
`sqlite3 -csv`. Uses benchmarks/data/events5000000.db when it exists (`datasets.py`
builds it; `--build` builds it here, which takes a few minutes); `--rows N` times a
smaller table built the same way.

    python benchmarks/bench_export.py [--build] [--rows N]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from datasets import DATA, big_events

from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.browse.protocol import Relation
from dbinspect.export.exporter import export_to_file
from dbinspect.models import RowQuery
from dbinspect.url import parse_url

TARGET_RATIO = 2.0


async def export_csv(database: Path, target: Path) -> int:
    backend = await SqliteBackend.open(parse_url(str(database)))
    try:
        return await export_to_file(backend, Relation(None, "events"), RowQuery(), "csv", target)
    finally:
        await backend.aclose()


def time_dbinspect(database: Path, target: Path) -> tuple[float, int]:
    start = time.perf_counter()
    rows = asyncio.run(export_csv(database, target))
    return time.perf_counter() - start, rows


def time_shell(shell: str, database: Path, target: Path) -> float:
    start = time.perf_counter()
    with target.open("wb") as out:
        subprocess.run(
            [shell, "-readonly", "-csv", "-header", str(database), "SELECT * FROM events"],
            stdout=out, check=True,
        )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="Build the table if missing.")
    parser.add_argument("--rows", type=int, default=5_000_000)
    args = parser.parse_args()
    database = DATA / f"events{args.rows}.db"
    if not database.exists():
        if not args.build:
            print(f"export: skipped ({database.name} not built; --build builds it)")
            return
        database = big_events(args.rows)
    shell = shutil.which("sqlite3")
    with tempfile.TemporaryDirectory() as folder:
        ours, theirs = Path(folder) / "dbinspect.csv", Path(folder) / "sqlite3.csv"
        seconds, rows = time_dbinspect(database, ours)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # The export in parts runs in worker processes: the largest of them, apart.
        worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        label = f"export {rows:,} rows to CSV"
        print(
            f"{label:<44} {seconds:6.2f} s   peak {peak_mb:.0f} MB, "
            f"largest worker {worker_mb:.0f} MB"
        )
        if shell is None:
            print("sqlite3 -csv: skipped (no sqlite3 shell on PATH)")
            return
        shell_seconds = time_shell(shell, database, theirs)
        print(f"{'sqlite3 -csv, same table':<44} {shell_seconds:6.2f} s")
        ratio = seconds / shell_seconds
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        print(f"{'ratio':<44} {ratio:6.2f} x   ({verdict} the target <= {TARGET_RATIO:.0f}x)")


if __name__ == "__main__":
    main()
