"""Times the PostgreSQL Data pane's reads on the 5,000,000-row `events` table.

On `bench_pg5m` (built once by `pg_datasets.py` from ../shared/tools/make_bench_data.py
`pg5m`), each round opens a fresh inspection connection, as the pane does after a
refresh, and times through `PostgresRows` what the pane reads:
(a) first rows: the relation's columns and key, its row estimate and the first page;
(b) End: the last page;
(c) a scrollbar jump to the middle (a key estimate from the histogram, no OFFSET);
and, for reference, the exact count the pane runs in the background, and what turning
values into the pane's text costs: `::text` casts on the server (as `PostgresRows` reads)
against psycopg text loaders registered on the connection.
Figures are medians of the rounds (the first round's too: a new server process).
Targets: (a), (b) and (c) <= 0.3 s; harlequin-postgres 1.5.2 takes 62-64 s to show
`select * from events` (and then shows 100,000 of its rows).

    python benchmarks/bench_pg_rows.py [--rounds N] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg_datasets import EVENTS_ROWS, pg5m

from dbinspect import pg_driver
from dbinspect.backends.postgres_rows import PostgresRows
from dbinspect.browse.browser import CELL_LIMIT
from dbinspect.browse.protocol import Relation
from dbinspect.browse.window import PAGE_ROWS
from dbinspect.models import RowQuery
from dbinspect.url import parse_url

TARGET = 0.3
REFERENCE = "harlequin-postgres 1.5.2: 62-64 s to show select * from events"
EVENTS = Relation(None, "events")


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await work()
    return time.perf_counter() - start, result


async def one_round(url: str, count: bool) -> dict[str, float]:
    parsed = parse_url(url)
    connect, conn = await timed(lambda: pg_driver.connect_async(parsed))
    rows = PostgresRows(conn, parsed)
    query = RowQuery()
    figures = {"connect": connect}
    try:

        async def first() -> int:
            estimate = await rows.row_estimate(EVENTS)
            page = await rows.fetch_page(EVENTS, query, limit=PAGE_ROWS, cell_limit=CELL_LIMIT)
            assert page.keys[0] == (1,), page.keys[0]
            return estimate.value

        figures["first rows"], total = await timed(first)

        async def end() -> None:
            page = await rows.fetch_page(
                EVENTS, query, before=(), limit=PAGE_ROWS, cell_limit=CELL_LIMIT
            )
            assert page.keys[-1] == (EVENTS_ROWS,), page.keys[-1]

        figures["End (last rows)"], _ = await timed(end)

        async def middle() -> None:
            page, position = await rows.page_near(
                EVENTS, query, total // 2, total, limit=PAGE_ROWS, cell_limit=CELL_LIMIT
            )
            first_id = page.keys[0][0]
            assert isinstance(first_id, int) and abs(first_id - EVENTS_ROWS // 2) < 50_000
            assert abs(position - total // 2) < 50_000

        figures["jump to the middle"], _ = await timed(middle)
        if count:

            async def exact() -> None:
                steps = [step async for step in rows.count_stepwise(EVENTS, query)]
                assert steps[-1] == (EVENTS_ROWS, 1.0), steps[-1]

            figures["exact count (background)"], _ = await timed(exact)
    finally:
        await conn.close()
    return figures


CAST_SQL = (
    "SELECT id, ts::text, kind, user_id, payload::text, amount FROM events "
    "WHERE id > %s ORDER BY id LIMIT %s"
)
RAW_SQL = (
    "SELECT id, ts, kind, user_id, payload, amount FROM events WHERE id > %s ORDER BY id LIMIT %s"
)


async def conversions(url: str, rows: int, reads: int = 100) -> tuple[float, float]:
    """Seconds per page of `rows` rows: text made by server casts, and by client loaders."""
    parsed = parse_url(url)
    casting = await pg_driver.connect_async(parsed)
    loading = await pg_driver.connect_async(parsed)
    loader = pg_driver.psycopg.types.string.TextLoader
    for name in ("timestamptz", "jsonb"):
        loading.adapters.register_loader(name, loader)
    try:
        timings = []
        for conn, sql in ((casting, CAST_SQL), (loading, RAW_SQL)):
            start = time.perf_counter()
            for index in range(reads):
                cursor = await conn.execute(sql, [index * rows, rows])
                page = await cursor.fetchall()
                assert isinstance(page[0][1], str) and isinstance(page[0][4], str)
            timings.append((time.perf_counter() - start) / reads)
        return timings[0], timings[1]
    finally:
        await casting.close()
        await loading.close()


async def main(url: str, rounds: int) -> int:
    results = [await one_round(url, count=index == 0) for index in range(rounds)]
    print(f"PostgreSQL Data pane on events ({EVENTS_ROWS:,} rows), {rounds} rounds")
    print(f"reference: {REFERENCE}")
    failed = False
    for name in results[0]:
        values = [r[name] for r in results if name in r]
        median = statistics.median(values)
        line = f"{name:<26} {median:7.3f} s   first round {values[0]:7.3f} s"
        if name in ("first rows", "End (last rows)", "jump to the middle"):
            ok = median <= TARGET
            failed |= not ok
            line += f"   target <= {TARGET} s {'ok' if ok else 'MISSED'}"
        print(line)
    for size in (PAGE_ROWS, 10 * PAGE_ROWS):
        await conversions(url, size, reads=5)  # warm both connections and the pages
        cast, load = await conversions(url, size)
        print(
            f"text for a {size}-row page: server casts {cast * 1000:.2f} ms, "
            f"client loaders {load * 1000:.2f} ms"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--url", help="a database holding the pg5m events table")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.url or pg5m(), arguments.rounds)))
