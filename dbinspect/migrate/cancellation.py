"""Stops a migration run from another thread, whatever the database (imports no driver).

Each store attaches what stops its running statement: SQLite interrupts the connection,
PostgreSQL sends the server a cancel request. The flag is looked at between statements.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable


class CancelledInWorker(Exception):
    """The run was cancelled; the running migration's transaction was rolled back."""


Interrupt = Callable[[], None]
"""Stops the statement now running on one connection (must be callable from any thread)."""


class Cancellation:
    """Stops a migration run from another thread.

    `cancel()` sets the flag and calls every attached interrupt. Attaching, detaching and
    cancelling share a lock, so an interrupt never reaches a connection being closed
    (SQLite forbids interrupting a connection that is closing).
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._interrupts: dict[int, tuple[Interrupt, Callable[[], None] | None]] = {}
        self._next = 0

    def attach(self, interrupt: Interrupt, on_detach: Callable[[], None] | None = None) -> int:
        """Call `interrupt` on cancel until `detach(handle)`; returns the handle."""
        with self._lock:
            self._next += 1
            self._interrupts[self._next] = (interrupt, on_detach)
            return self._next

    def detach(self, handle: int | None = None) -> None:
        """Forget one attached interrupt (all when `handle` is None); before closing it."""
        with self._lock:
            handles = list(self._interrupts) if handle is None else [handle]
            for key in handles:
                entry = self._interrupts.pop(key, None)
                if entry is not None and entry[1] is not None:
                    entry[1]()

    def cancel(self) -> None:
        """Ask the run to stop: the running statement is interrupted and rolled back."""
        with self._lock:
            self.event.set()
            for interrupt, _ in self._interrupts.values():
                with contextlib.suppress(Exception):  # a connection already gone
                    interrupt()
