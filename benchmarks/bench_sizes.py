"""Times the table sizes read from `dbstat`, and how soon a cancelled read frees the connection.

On the 5,000,000-row `events` database (about 470 MB, `datasets.big_events()`):
(a) a whole `table_sizes()` call, which reads every page of the file;
(b) from cancelling a `table_sizes()` call in the middle of its scan until the next query
on the same connection (`change_marker()`) has answered. The scan is interrupted, not left
running, so this stays far below (a). Target: (b) <= 1 s, whatever the file's size.
Each figure is the median of several runs.

    python benchmarks/bench_sizes.py [--db FILE] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from datasets import big_events

from dbinspect.backends import open_backend
from dbinspect.url import parse_url

CANCEL_AFTER_S = 0.05
"""How far into the scan the cancel comes."""
TARGET_FREE_S = 1.0


async def whole_scan(db: Path) -> float:
    """Seconds of one `table_sizes()` call on a freshly opened backend (schema cached)."""
    backend = await open_backend(parse_url(str(db)))
    try:
        await backend.schema()
        started = time.perf_counter()
        sizes = await backend.table_sizes()
        elapsed = time.perf_counter() - started
        if sizes is None:
            raise SystemExit("this SQLite has no dbstat: nothing to measure")
        return elapsed
    finally:
        await backend.aclose()


async def free_after_cancel(db: Path) -> float:
    """Seconds from cancelling a scan until the connection's next query has answered."""
    backend = await open_backend(parse_url(str(db)))
    try:
        await backend.schema()
        task = asyncio.create_task(backend.table_sizes())
        await asyncio.sleep(CANCEL_AFTER_S)
        if task.done():
            raise SystemExit(f"the scan ended within {CANCEL_AFTER_S} s: use a bigger file")
        started = time.perf_counter()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        await backend.change_marker()
        return time.perf_counter() - started
    finally:
        await backend.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a database file (default: the 5M events)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    db = args.db or big_events()
    scans = [asyncio.run(whole_scan(db)) for _ in range(args.runs)]
    frees = [asyncio.run(free_after_cancel(db)) for _ in range(args.runs)]
    print(f"on {db.name} ({db.stat().st_size / 1e6:.0f} MB)")
    print(f"{'table sizes, whole scan':<40} {statistics.median(scans):6.3f} s")
    free = statistics.median(frees)
    print(
        f"{'connection free after a cancel':<40} {free * 1000:6.1f} ms"
        f"  (worst {max(frees) * 1000:.1f} ms)  target <= {TARGET_FREE_S * 1000:g} ms"
    )
    return 0 if free <= TARGET_FREE_S else 1


if __name__ == "__main__":
    sys.exit(main())
