"""`ConnectionOwner.closed_meanwhile`: every connection closed, none opened until it ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dbinspect.backends import open_backend
from dbinspect.connections import ConnectionOwner
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url


def make_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return path


async def test_no_connection_opens_while_held_and_the_panes_reopen_after(tmp_path: Path) -> None:
    url = parse_url(str(make_db(tmp_path / "app.db")))
    owner = ConnectionOwner(url, panes=await open_backend(url))
    try:
        await owner.get("browse")
        async with owner.closed_meanwhile():
            assert owner.peek("panes") is None and owner.peek("browse") is None
            waiting = asyncio.create_task(owner.get("count"))
            await asyncio.sleep(0.2)
            assert not waiting.done()  # a reader waits for the hold to end
        counted = await asyncio.wait_for(waiting, 10)
        assert owner.peek("count") is counted
        await owner.reopen()
        assert (await owner.panes.schema()).get("t") is not None
    finally:
        await owner.aclose()
