"""A query cancelled twice (a worker group cancelled again while it ends) keeps its connection.

psycopg stops a cancelled query on the server and reads the connection clean; cancelled
again meanwhile, it closes the connection. The Data pane's scrollbar drags did that.
"""

from __future__ import annotations

import asyncio

import pytest
from pgkit import run_sql

from dbinspect import pg_driver
from dbinspect.backends import open_backend
from dbinspect.browse.protocol import Relation
from dbinspect.models import RowQuery
from dbinspect.url import parse_url


async def cancel_twice(task: asyncio.Future[object]) -> None:
    await asyncio.sleep(0.2)  # the query is running on the server
    task.cancel()
    for _ in range(3):
        await asyncio.sleep(0)  # psycopg is now waiting for the server to stop it
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_query_cancelled_twice_leaves_its_connection_usable(pg_url: str) -> None:
    conn = await pg_driver.connect_async(parse_url(pg_url))
    try:
        await cancel_twice(asyncio.ensure_future(pg_driver.cancel_once(
            conn.execute("SELECT pg_sleep(5)"))))  # fmt: skip
        assert not conn.closed
        cursor = await conn.execute("SELECT 41 + 1")
        assert await cursor.fetchone() == (42,)
    finally:
        await conn.close()


async def test_a_bare_query_cancelled_twice_loses_its_connection(pg_url: str) -> None:
    """What `cancel_once` is for: without it psycopg closes the connection."""
    conn = await pg_driver.connect_async(parse_url(pg_url))
    try:
        await cancel_twice(asyncio.ensure_future(conn.execute("SELECT pg_sleep(5)")))
        assert conn.closed
    finally:
        await conn.close()


async def test_a_page_read_cancelled_twice_leaves_the_browse_connection_usable(
    pg_url: str,
) -> None:
    run_sql(pg_url, "CREATE VIEW slow AS SELECT g AS id, pg_sleep(0.01)::text AS nap"
                    " FROM generate_series(1, 1000) g")  # fmt: skip
    backend = await open_backend(parse_url(pg_url))
    try:
        reading = asyncio.ensure_future(backend.fetch_page(Relation(None, "slow"), RowQuery()))
        await cancel_twice(reading)
        page = await backend.fetch_page(Relation(None, "slow"), RowQuery(), limit=2)
        assert [row[0] for row in page.rows] == [1, 2]
    finally:
        await backend.aclose()
