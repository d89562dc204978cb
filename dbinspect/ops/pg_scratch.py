"""A temporary PostgreSQL database on the server of a given one, always dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from dbinspect import pg_driver as driver
from dbinspect.errors import OperationError
from dbinspect.url import DatabaseUrl


def _create(server: DatabaseUrl, name: str) -> None:
    conn = driver.connect(server)
    try:
        conn.execute(driver.sql.SQL("CREATE DATABASE {}").format(driver.sql.Identifier(name)))
    except driver.Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OperationError(
            f"cannot create a scratch database on {server.masked}: {reason}",
            "the user needs the CREATEDB privilege for this",
        ) from None
    finally:
        conn.close()


def _drop(server: DatabaseUrl, name: str) -> None:
    conn = driver.connect(server)
    try:
        # FORCE: a connection the replay left behind (a cancelled run) must not keep it.
        conn.execute(
            driver.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                driver.sql.Identifier(name)
            )
        )
    finally:
        conn.close()


@contextlib.asynccontextmanager
async def scratch_database(server: DatabaseUrl, name: str) -> AsyncIterator[str]:
    """Create database `name` next to `server`'s, yield its name, drop it whatever happens.

    Raises:
        OperationError: The database cannot be created (no CREATEDB privilege).
    """
    await asyncio.to_thread(_create, server, name)
    try:
        yield name
    finally:
        # Shielded: a Ctrl+C that cancels the replay must still drop what it created.
        await asyncio.shield(asyncio.to_thread(_drop, server, name))
