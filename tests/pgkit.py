"""A private PostgreSQL database per test, on the real server (127.0.0.1:5432 by default).

`DBINSPECT_TEST_PG` overrides the server's URL. With `CI=true` an unreachable server
fails the test instead of skipping it: the PostgreSQL tests must run there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

SERVER_URL = os.environ.get("DBINSPECT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def database_url(name: str) -> str:
    """The URL of database `name` on the test server."""
    base, _, _ = SERVER_URL.rpartition("/")
    return f"{base}/{name}"


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(SERVER_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {SERVER_URL}: {error}")
        pytest.skip(f"PostgreSQL is not reachable at {SERVER_URL}")


@contextmanager
def fresh_database(prefix: str = "dbi_test") -> Iterator[str]:
    """Create an empty database with a unique name; yield its URL; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url(name)
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_sql(url: str, sql: str) -> None:
    """Run a script (several statements, no parameters) in autocommit mode."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.encode())


def query(url: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """The rows of one query."""
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql.encode() if not params else sql, params or None).fetchall()


CHINOOK_SQL = (
    Path(__file__).resolve().parent.parent.parent
    / "shared/corpus/chinook-database/ChinookDatabase/DataSources/Chinook_PostgreSql.sql"
)


def load_chinook(url: str) -> None:
    """Load the Chinook corpus script into the database at `url` (psql, stopping on error).

    The script drops and creates a fixed `chinook` database and connects to it with `\\c`:
    those lines are left out, so that tests running at once cannot collide.
    """
    import subprocess

    if not CHINOOK_SQL.is_file():
        pytest.skip(f"corpus file missing: {CHINOOK_SQL}")
    with CHINOOK_SQL.open(encoding="utf-8") as source:
        script = "".join(
            line
            for line in source
            if not line.lstrip().upper().startswith(("DROP DATABASE", "CREATE DATABASE", "\\C "))
        )
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-"],
        input=script.encode(),
        check=True,
        capture_output=True,
    )
