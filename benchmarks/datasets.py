"""Builds the databases the benchmarks time into benchmarks/data/ (cached).

The shapes match ../shared/tools/make_bench_data.py, the reference the targets were
measured on: a schema of N tables (10 text columns, an index and a foreign key each, a
view and a trigger every 10 tables) and a 5,000,000-row `events` table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _cached(name: str, fill: Callable[[sqlite3.Connection], None]) -> Path:
    """`DATA/name`, built by `fill` on a WAL connection the first time it is asked for."""
    path = DATA / name
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    conn = sqlite3.connect(partial)
    conn.execute("PRAGMA journal_mode=WAL")
    fill(conn)
    conn.close()
    partial.rename(path)
    return path


def big_schema(n: int = 2000) -> Path:
    """A WAL database of `n` tables, built once and reused."""
    return _cached(f"schema{n}.db", lambda conn: _fill_schema(conn, n))


def _fill_schema(conn: sqlite3.Connection, n: int) -> None:
    with conn:
        for i in range(n):
            cols = ", ".join(f"c{j} TEXT" for j in range(10))
            ref = f", parent_id INTEGER REFERENCES t{i - 1}(id)" if i else ""
            conn.execute(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, {cols}{ref})")
            conn.execute(f"CREATE INDEX ix_t{i}_c0 ON t{i}(c0)")
            if i % 10 == 0:
                conn.execute(f"CREATE VIEW v{i} AS SELECT id, c0 FROM t{i}")
                conn.execute(f"CREATE TRIGGER tr{i} AFTER INSERT ON t{i} BEGIN SELECT 1; END")
            conn.execute(f"INSERT INTO t{i}(c0,c1) VALUES ('a','b')")


def big_events(n: int = 5_000_000) -> Path:
    """The `events` table of `n` rows with an index on user_id (about 470 MB at 5M)."""
    return _cached(f"events{n}.db", lambda conn: _fill_events(conn, n))


def _fill_events(conn: sqlite3.Connection, n: int) -> None:
    conn.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, kind TEXT NOT NULL,"
        " user_id INTEGER, payload TEXT, amount REAL)"
    )
    kinds = ["click", "view", "buy", "login", "logout"]
    with conn:
        conn.executemany(
            "INSERT INTO events(ts, kind, user_id, payload, amount) VALUES (?, ?, ?, ?, ?)",
            (
                (
                    f"2026-01-01T00:{i % 60:02d}:{i % 60:02d}",
                    kinds[i % 5],
                    i % 100000,
                    f'{{"k": {i}, "msg": "hello world"}}',
                    i * 0.5,
                )
                for i in range(n)
            ),
        )
    conn.execute("CREATE INDEX ix_events_user ON events(user_id)")


def heavy_view(rows: int = 200_000) -> Path:
    """A rowid table `big` of `rows` rows, and `heavy`, its cross join with itself: a view
    of rows**2 rows (4e10 at 200,000) that no query can count or reach the end of."""
    return _cached(f"heavy{rows}.db", lambda conn: _fill_heavy(conn, rows))


def _fill_heavy(conn: sqlite3.Connection, rows: int) -> None:
    with conn:
        conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, kind TEXT, n INTEGER)")
        conn.executemany(
            "INSERT INTO big VALUES (?, ?, ?)",
            ((i, ("a", "b", "c", "d")[i % 4], i % 1000) for i in range(1, rows + 1)),
        )
        conn.execute("CREATE VIEW heavy AS SELECT x.id, y.id AS other FROM big x, big y")
