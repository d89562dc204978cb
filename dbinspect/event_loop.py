"""Running a coroutine to completion so that Ctrl+C always reaches it.

`asyncio.run` (its `Runner`) turns Ctrl+C into cancelling the main task with a handler
installed by `signal.signal`. Python runs such a handler in the main thread between two
bytecodes; the C-level handler only sets a flag. Two cases leave that flag unseen while
the main thread sleeps in the event loop's `epoll_wait`, waiting for a statement that may
never end:

- the kernel delivers SIGINT to another thread (the SQLite driver's, running that
  statement): the main thread's `epoll_wait` is not interrupted;
- SIGINT lands in the main thread just before it enters `epoll_wait`: the system call
  starts after the signal, so it is not interrupted either.

`signal.set_wakeup_fd` is the standard library's answer: Python writes every signal it
handles to that descriptor, from whichever thread, and the loop watching the other end
wakes up and runs the handler. asyncio sets one up only for `loop.add_signal_handler`,
which would replace the Runner's handling of a second Ctrl+C, hence this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["run", "signals_wake"]

T = TypeVar("T")


@contextlib.contextmanager
def signals_wake(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """While in this block, a signal Python handles wakes `loop` wherever it landed."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set the wakeup descriptor, or run handlers
        return
    receive, send = socket.socketpair()
    receive.setblocking(False)
    send.setblocking(False)
    loop.add_reader(receive.fileno(), _drain, receive)
    previous = signal.set_wakeup_fd(send.fileno(), warn_on_full_buffer=False)
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
        loop.remove_reader(receive.fileno())
        receive.close()
        send.close()


def _drain(receive: socket.socket) -> None:
    # The bytes only wake the loop; the handlers themselves run from Python's own flags.
    with contextlib.suppress(OSError):
        while receive.recv(4096):
            pass


def run(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coro)`, with signals waking the loop (see `signals_wake`)."""
    with asyncio.Runner() as runner, signals_wake(runner.get_loop()):
        return runner.run(coro)
