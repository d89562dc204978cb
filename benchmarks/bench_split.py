"""Times splitting a migration into statements: an INSERT of growing size, `;` in its strings.

On PostgreSQL, a seed file of many statements: time linear in their number (the former
split copied the rest of the file after each statement: 5.7 s for 50,000).

Targets: time linear in the size, so each doubling of the script at most about doubles
the time (ratio <= ~2.2); 400 KB in under 1 s. SQLite itself runs the 400 KB script in
about 20 ms. The former split asked `complete_statement` about the whole statement at
every `;`, and took 13 s at 400 KB (ratio 4 per doubling).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from dbinspect.migrate.pg_dialect import split_statements as split_postgres
from dbinspect.migrate.statements import split_statements

SIZES_KB = (100, 200, 400, 800)
ROW = "('a;b;c;d', 'e;f', \"g;h\", 'semicolons; inside; strings;', 1),\n"


def insert_script(kilobytes: int) -> str:
    """A table and one INSERT of about `kilobytes` KB whose strings hold many `;`."""
    rows = (ROW * (kilobytes * 1024 // len(ROW))).rstrip(",\n")
    return f"CREATE TABLE t(a, b, c, d, e);\nINSERT INTO t VALUES {rows};\n"


def timed(action: Callable[[], object], runs: int = 9) -> float:
    """Best wall time of `action` over `runs` runs (the least disturbed by other work)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return min(samples)


def run_in_sqlite(sql: str) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(sql)
    finally:
        conn.close()


def main() -> None:
    previous = None
    worst = 0.0
    at_400_kb = 0.0
    for kilobytes in SIZES_KB:
        sql = insert_script(kilobytes)
        semicolons = sql.count(";")
        seconds = timed(lambda sql=sql: split_statements(sql))  # type: ignore[misc]
        ratio = f"x{seconds / previous:.2f}" if previous else "     "
        if previous:
            worst = max(worst, seconds / previous)
        if kilobytes == 400:
            at_400_kb = seconds
        print(f"split {kilobytes:>4} KB ({semicolons:>6} ;)  {seconds * 1000:8.1f} ms  {ratio}")
        previous = seconds
    print(f"worst ratio per doubling: x{worst:.2f} (target <= ~2.2)")
    print(f"split 400 KB: {at_400_kb * 1000:.1f} ms (target < 1000 ms; the former split: 13 s)")
    reference = timed(lambda: run_in_sqlite(insert_script(400)), runs=3)
    print(f"sqlite3 executescript 400 KB (reference): {reference * 1000:.1f} ms")
    postgres_seed_files()


def postgres_seed_files() -> None:
    """PostgreSQL's split of a seed file of 12,500 to 100,000 INSERTs."""
    previous = None
    for count in (12_500, 25_000, 50_000, 100_000):
        sql = "".join(f"INSERT INTO t VALUES ({i}, 'row {i}; -- x');\n" for i in range(count))
        seconds = timed(lambda sql=sql: split_postgres(sql), runs=3)  # type: ignore[misc]
        ratio = f"x{seconds / previous:.2f}" if previous else "     "
        print(f"PostgreSQL: split {count:>7,} statements  {seconds * 1000:8.1f} ms  {ratio}")
        previous = seconds


if __name__ == "__main__":
    main()
