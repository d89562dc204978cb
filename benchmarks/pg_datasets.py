"""The PostgreSQL databases the PostgreSQL benchmarks time, built once and reused.

The SQL is taken from ../shared/tools/make_bench_data.py (`pg2k`: 2,000 tables with an
index and a foreign key each and a view every 10; `pg5m`: a 5,000,000-row `events` table
with a jsonb payload), the reference the targets were measured on. That tool drops and
rebuilds databases of fixed names; here the same SQL is loaded into `bench_pg2k` and
`bench_pg5m`, names shared with whoever else needs these databases on this server:

- a database that is there and complete is reused, never dropped or rebuilt;
- one that is missing is built under a `_partial` name and renamed when complete, so a
  database of the final name is always whole;
- one that is there but incomplete is being built by someone else: it is waited for.

Server and user as for psql: 127.0.0.1 and postgres unless PGHOST or PGUSER say otherwise.

Usage: python benchmarks/pg_datasets.py [pg2k] [pg5m]   (ensures them; default both)
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "shared" / "tools" / "make_bench_data.py"
HOST = os.environ.get("PGHOST", "127.0.0.1")
USER = os.environ.get("PGUSER", "postgres")
PG2K, PG5M = "bench_pg2k", "bench_pg5m"
EVENTS_ROWS = 5_000_000


def url(database: str) -> str:
    return f"postgres://{USER}@{HOST}/{database}"


def psql(database: str, *args: str, stdin: str | None = None) -> str:
    """Runs psql quietly, stopping at the first error; returns its unaligned output."""
    command = ["psql", "-h", HOST, "-U", USER, "-d", database, "-qAt", "-v", "ON_ERROR_STOP=1"]
    done = subprocess.run(
        [*command, *args], input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql {' '.join(args)[:80]}: {done.stderr.strip()}")
    return done.stdout.strip()


def reference_sql(target: str) -> list[str]:
    """The statements the reference tool runs for `target` ("pg2k" or "pg5m")."""
    spec = importlib.util.spec_from_file_location("make_bench_data", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # The tool dispatches on sys.argv when loaded; an argument naming no target makes
    # loading it define its functions and do nothing else.
    argv = sys.argv
    sys.argv = [str(TOOL), "--define-only"]
    try:
        spec.loader.exec_module(module)
    finally:
        sys.argv = argv
    captured: list[list[str]] = []
    module.pg = lambda _name, lines: captured.append(lines)  # keeps the SQL, runs nothing
    getattr(module, target)()
    return captured[0]


def _exists(database: str) -> bool:
    return psql("postgres", "-c", f"SELECT 1 FROM pg_database WHERE datname = '{database}'") == "1"


def _pg2k_complete(database: str) -> bool:
    counts = psql(
        database,
        "-c",
        "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public'),"
        " (SELECT count(*) FROM pg_views WHERE schemaname = 'public')",
    )
    return counts == "2000|200"


def _pg5m_complete(database: str) -> bool:
    try:
        last = psql(database, "-c", "SELECT max(id) FROM events")
    except RuntimeError:  # no events table yet: its load has not committed
        return False
    return last == str(EVENTS_ROWS)


def _ensure(database: str, target: str, complete: Callable[[str], bool], wait: float) -> str:
    if _exists(database):
        deadline = time.monotonic() + wait
        while not complete(database):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{database} exists but is incomplete after {wait:.0f} s of waiting"
                )
            time.sleep(5)
        return url(database)
    partial = f"{database}_partial"
    print(f"building {database} (once; about a minute) ...", file=sys.stderr, flush=True)
    psql("postgres", "-c", f"DROP DATABASE IF EXISTS {partial}")
    psql("postgres", "-c", f"CREATE DATABASE {partial}")
    psql(partial, "-f", "-", stdin="\n".join(reference_sql(target)) + "\n")
    psql("postgres", "-c", f"ALTER DATABASE {partial} RENAME TO {database}")
    return url(database)


def pg2k(wait: float = 600) -> str:
    """The URL of `bench_pg2k`: 2,000 tables, each with an index and a foreign key."""
    return _ensure(PG2K, "pg2k", _pg2k_complete, wait)


def pg5m(wait: float = 900) -> str:
    """The URL of `bench_pg5m`: `events` of 5,000,000 rows, jsonb payload, analyzed."""
    return _ensure(PG5M, "pg5m", _pg5m_complete, wait)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["pg2k", "pg5m"]:
        print({"pg2k": pg2k, "pg5m": pg5m}[name]())
