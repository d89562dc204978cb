"""Exporting reads a SQLite relation in one pass on a connection of its own.

The rows are those the Data pane pages through, in the same order: compared here with
the keyset pages every backend has, with SQLite's own answer, with text that is not
UTF-8 in the middle of a table and with a table wider than one page statement reads.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.browse.protocol import Relation, RowStreamer
from dbinspect.errors import DbInspectError
from dbinspect.export.encode import csv_record
from dbinspect.export.exporter import write_rows
from dbinspect.models import Filter, RowPage, RowQuery, Value
from dbinspect.sqlite_driver import dbapi as sqlite3

ROWS = 5_000


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stream") / "rows.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, v REAL)")
    conn.executemany(
        "INSERT INTO t(grp, name, v) VALUES (?, ?, ?)",
        (
            (None if i % 7 == 0 else i % 5, f"n{i}" if i % 11 else f"n,{i}", i / 3)
            for i in range(ROWS)
        ),
    )
    conn.execute("CREATE VIEW v AS SELECT name, grp FROM t WHERE id % 3 = 0")
    conn.execute("CREATE TABLE latin(id INTEGER PRIMARY KEY, word TEXT)")
    conn.executemany("INSERT INTO latin(word) VALUES (?)", ((f"w{i}",) for i in range(2_500)))
    # Text that is not UTF-8 (latin-1 bytes), far into the table and in its first rows.
    conn.execute("UPDATE latin SET word = CAST(X'636166E9' AS TEXT) WHERE id IN (3, 1700)")
    columns = ", ".join(f"c{i}" for i in range(1_500))
    conn.execute(f"CREATE TABLE wide({columns})")
    conn.executemany(
        f"INSERT INTO wide VALUES ({', '.join('?' * 1_500)})",
        [[r * 10_000 + i for i in range(1_500)] for r in range(3)],
    )
    conn.execute("CREATE VIEW broken AS SELECT no_such_function(id) FROM t")
    conn.commit()
    conn.close()
    return path


class PagesOnly:
    """A backend's keyset pages and nothing else, as a backend without streaming offers."""

    sql_dialect = "sqlite"

    def __init__(self, backend: SqliteBackend) -> None:
        self._backend = backend

    async def fetch_page(self, relation: Relation, query: RowQuery, **kwargs: Any) -> RowPage:
        return await self._backend.fetch_page(relation, query, **kwargs)


async def csv_of(pager: Any, name: str, query: RowQuery, chunk_rows: int = 1000) -> str:
    out = io.BytesIO()
    await write_rows(pager, Relation(None, name), query, "csv", out, chunk_rows=chunk_rows)
    return out.getvalue().decode("utf-8")


def csv_from_sqlite(database: Path, sql: str) -> str:
    """What SQLite itself returns, written row by row (text decoded as the backend does)."""
    conn = sqlite3.connect(database)
    conn.text_factory = lambda raw: raw.decode("utf-8", "backslashreplace")
    cursor = conn.execute(sql)
    names: Sequence[Value] = [d[0] for d in cursor.description]
    text = "".join(csv_record(row) for row in [names, *cursor])
    conn.close()
    return text


QUERIES = [
    RowQuery(),
    RowQuery(filters=(Filter("name", "like", "%3%"),), sort_column="grp", descending=True),
    RowQuery(filters=(Filter("grp", ">=", "2"),), sort_column="grp"),
    RowQuery(sort_column="name"),
]


async def test_the_backend_streams(backend: SqliteBackend) -> None:
    assert isinstance(backend, RowStreamer)
    assert not isinstance(PagesOnly(backend), RowStreamer)


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("name", ["t", "v"])
async def test_one_pass_gives_the_rows_of_the_pages_in_their_order(
    backend: SqliteBackend, name: str, query: RowQuery
) -> None:
    streamed = await csv_of(backend, name, query)
    paged = await csv_of(PagesOnly(backend), name, query)
    assert streamed == paged
    assert streamed.count("\r\n") > 100


async def test_nulls_sort_first_ascending_and_last_descending(
    backend: SqliteBackend, database: Path
) -> None:
    down = RowQuery(sort_column="grp", descending=True)
    assert await csv_of(backend, "t", down) == csv_from_sqlite(
        database, "SELECT * FROM t ORDER BY grp IS NULL, grp DESC, rowid DESC"
    )
    assert await csv_of(backend, "t", RowQuery(sort_column="grp")) == csv_from_sqlite(
        database, "SELECT * FROM t ORDER BY grp IS NOT NULL, grp, rowid"
    )


@pytest.mark.parametrize("chunk_rows", [1, 1000, 10_000])
async def test_text_that_is_not_utf8_is_read_again_leniently_from_where_it_stopped(
    backend: SqliteBackend, database: Path, chunk_rows: int
) -> None:
    exported = await csv_of(backend, "latin", RowQuery(), chunk_rows)
    assert exported == csv_from_sqlite(database, "SELECT * FROM latin ORDER BY id")
    lines = exported.splitlines()
    assert len(lines) == 2_501
    assert (lines[3], lines[1700]) == ("3,caf\\xe9", "1700,caf\\xe9")
    assert [int(line.split(",")[0]) for line in lines[1:]] == list(range(1, 2_501))


async def test_a_table_wider_than_a_page_statement(backend: SqliteBackend) -> None:
    lines = (await csv_of(backend, "wide", RowQuery())).splitlines()
    assert lines[0] == ",".join(f"c{i}" for i in range(1_500))
    assert lines[1:] == [",".join(str(r * 10_000 + i) for i in range(1_500)) for r in range(3)]


async def test_a_broken_view_fails_with_its_own_error(backend: SqliteBackend) -> None:
    with pytest.raises(DbInspectError, match="no_such_function"):
        await csv_of(backend, "broken", RowQuery())


async def test_interrupting_the_backend_does_not_stop_an_export(backend: SqliteBackend) -> None:
    interrupts: list[asyncio.Task[None]] = []

    def progress(rows: int) -> None:
        interrupts.append(asyncio.ensure_future(backend.interrupt()))

    out = io.BytesIO()
    count = await write_rows(
        backend, Relation(None, "t"), RowQuery(), "csv", out, on_progress=progress, chunk_rows=50
    )
    await asyncio.gather(*interrupts)
    assert count == ROWS
    assert len(interrupts) == ROWS // 50
    assert out.getvalue().count(b"\r\n") == ROWS + 1


async def test_a_cancelled_export_closes_its_connection(backend: SqliteBackend) -> None:
    before = threading.active_count()
    first = asyncio.Event()
    task = asyncio.ensure_future(
        write_rows(
            backend, Relation(None, "t"), RowQuery(sort_column="name"), "csv", io.BytesIO(),
            on_progress=lambda _: first.set(), chunk_rows=10,
        )
    )  # fmt: skip
    await first.wait()
    assert threading.active_count() == before + 1  # the export's own connection
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(500):  # its thread ends just after the connection closed
        if threading.active_count() == before:
            break
        await asyncio.sleep(0.01)
    assert threading.active_count() == before
    page = await backend.fetch_page(Relation(None, "t"), RowQuery(), limit=3)
    assert [row[0] for row in page.rows] == [1, 2, 3]
