"""The one owner of every connection the app holds: opens, hands out, watches and closes.

The app reads on several connections so that no slow query holds up another: the panes'
facts and schema, the Data pane's pages, its row count, its exports, and a poll for other
writers.
Before this owner each was opened by whoever needed it; now they are asked for by role,
reopened together when the database is reopened, and closed together at the end. The
owner also watches for other processes' writes and tells every subscriber the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Literal, Protocol

from dbinspect.backends import Backend, open_backend
from dbinspect.browse.protocol import RowPager
from dbinspect.errors import DbInspectError
from dbinspect.extensions import Extension
from dbinspect.models import ChangeToken
from dbinspect.url import DatabaseUrl

Role = Literal["panes", "browse", "count", "watch", "export"]
"""What a connection is for: each role has its own, so none waits for another."""
POLL_SECONDS = 1.0
"""How often the watch connection asks whether another process wrote."""
_POSTGRES = "dbinspect.backends.postgres"


class PagerSource(Protocol):
    """Where the Data pane reads its rows: a connection per role, each one interruptible.

    `ConnectionOwner` is one; a query console's result is another (every role reads
    the one result).
    """

    url: DatabaseUrl

    async def get(self, role: Role) -> RowPager: ...

    async def interrupt(self, role: Role) -> None: ...

    async def release(self, role: Role) -> None: ...

    async def aclose(self) -> None: ...


class ConnectionOwner:
    """Every connection of one database session, by role.

    Args:
        url: The database.
        extensions: Loaded into every reading connection.
        panes: An already open connection for the `panes` role (the launch opens it
            early, so the first frame does not wait for a second open). Without one,
            the first `get("panes")` opens it (on PostgreSQL the launch reads the first
            outline without it, and the app connects after the first frame).
    """

    def __init__(
        self,
        url: DatabaseUrl,
        extensions: tuple[Extension, ...] = (),
        panes: Backend | None = None,
    ) -> None:
        self.url = url
        self.extensions = extensions
        self._open: dict[Role, Backend] = {} if panes is None else {"panes": panes}
        self._opened_at: dict[Role, int] = {}
        """The `generation` each connection was opened in."""
        self._opening: dict[Role, asyncio.Lock] = {}
        self._subscribers: list[Callable[[bool], None]] = []
        self._panes_open = asyncio.Event()
        if panes is not None:
            self._panes_open.set()
        self._closed = False
        self._not_held = asyncio.Event()
        """Clear while `closed_meanwhile` holds every connection off."""
        self._not_held.set()
        self.generation = 0
        """Moves on every `reopen`: a reader holding an older backend should ask again."""

    @property
    def panes(self) -> Backend:
        """The connection the panes read facts and schema on, once open (see `get`)."""
        return self._open["panes"]

    async def get(self, role: Role) -> Backend:
        """The connection for `role`: opened on first use, and again after a `reopen`.

        A connection from before the last `reopen` is closed here, by the next reader
        of its role, rather than by `reopen`: a row count may still be reading on it.
        """
        backend = self._open.get(role)
        if backend is not None and self._current(role) and not self._lost(role, backend):
            return backend
        lock = self._opening.setdefault(role, asyncio.Lock())
        async with lock:
            backend = self._open.get(role)
            if backend is not None and (not self._current(role) or self._lost(role, backend)):
                del self._open[role]
                with contextlib.suppress(DbInspectError):
                    await backend.aclose()
                backend = None
            if backend is None:
                backend = await self._open_unless_closed()
                self._open[role] = backend
                self._opened_at[role] = self.generation
                if role == "panes":
                    self._panes_open.set()
        return backend

    @staticmethod
    def _lost(role: Role, backend: Backend) -> bool:
        # The panes' connection is opened again by `reopen` (the refresh key), which
        # rereads every pane; another role's, by its next reader.
        return role != "panes" and backend.lost

    def _current(self, role: Role) -> bool:
        return role == "panes" or self._opened_at.get(role) == self.generation

    async def _open_unless_closed(self) -> Backend:
        """A new connection; closed again at once if the owner closed meanwhile.

        An open takes a while: a quit can close the owner during it, and a connection
        stored after that would never be closed (its thread would keep the process up).
        """
        await self._not_held.wait()
        if self._closed:
            raise DbInspectError("the database session is closed")
        if self.url.backend == "postgres" and _POSTGRES not in sys.modules:
            # The driver's import takes about 0.1 s: on a thread the app keeps drawing.
            await asyncio.to_thread(importlib.import_module, _POSTGRES)
        backend = await open_backend(self.url, extensions=self.extensions)
        if self._closed:
            await backend.aclose()
            raise DbInspectError("the database session is closed")
        return backend

    def peek(self, role: Role) -> Backend | None:
        """The connection for `role` if it is open, without opening it."""
        return self._open.get(role)

    async def reopen(self) -> None:
        """Open the panes' connection afresh; every other role reopens on its next use.

        The new one is opened before the old one closes, so a failure leaves the
        session as it was.
        """
        fresh = await self._open_unless_closed()
        old = self._open.get("panes")
        self._open["panes"] = fresh
        self._panes_open.set()
        self.generation += 1
        if old is not None:
            with contextlib.suppress(DbInspectError):
                await old.aclose()

    @contextlib.asynccontextmanager
    async def closed_meanwhile(self) -> AsyncIterator[None]:
        """Close every connection, and open none, until the block ends.

        For an operation that replaces the database under the app: a PostgreSQL restore
        renames it, which the server allows only with no session on it, and on SQLite
        no read of ours can then hold its write back. A reader asking for a connection
        meanwhile waits; afterwards `reopen` opens the panes' connection again.
        """
        self._not_held.clear()
        try:
            backends, self._open = list(self._open.values()), {}
            for backend in backends:
                with contextlib.suppress(DbInspectError):
                    await backend.aclose()
            yield
        finally:
            self._not_held.set()

    async def release(self, role: Role) -> None:
        """Close the connection for `role` (it reopens on next use)."""
        backend = self._open.pop(role, None)
        if backend is not None:
            with contextlib.suppress(DbInspectError):
                await backend.aclose()

    async def interrupt(self, role: Role) -> None:
        """Stop the statement running on `role`'s connection, if it is open."""
        backend = self._open.get(role)
        if backend is not None:
            await backend.interrupt()

    def subscribe(self, changed: Callable[[bool], None]) -> None:
        """Call `changed(catalog)` whenever another process writes to the database.

        `catalog` is False when only rows may have changed (see `ChangeToken`).
        """
        self._subscribers.append(changed)

    async def watch(self, poll: float = POLL_SECONDS) -> None:
        """Tell every subscriber when the database changes; runs until cancelled.

        Polls the backend's change token on a connection of its own, so a slow query
        elsewhere never delays it. An unreadable moment (locked, mid-rewrite) is skipped.
        It starts once the panes' connection is open: opening its own before that would
        compete with the first frame.
        """
        await self._panes_open.wait()
        last = await self._token()  # from now on: a write after this call is noticed
        while True:
            await asyncio.sleep(poll)
            token = await self._token()
            if token is None:
                continue
            if last is not None and token != last:
                catalog = not (
                    isinstance(token, ChangeToken)
                    and isinstance(last, ChangeToken)
                    and token.catalog == last.catalog
                )
                for changed in list(self._subscribers):
                    changed(catalog)
            last = token

    async def _token(self) -> Hashable | None:
        """The watch connection's change token; None when it cannot be read just now."""
        try:
            return await (await self.get("watch")).change_token()
        except DbInspectError:
            await self.release("watch")
            return None

    async def aclose(self) -> None:
        """Close every connection (shielded: a quit mid-query still closes them)."""
        self._closed = True
        backends, self._open = list(self._open.values()), {}
        for backend in backends:
            with contextlib.suppress(DbInspectError):
                await backend.aclose()
