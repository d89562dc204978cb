"""A signal that lands on another thread still reaches the coroutine (`event_loop`)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from dbinspect import event_loop

WAIT = 3.0
"""How long the coroutine sleeps unless the signal wakes it: the loop's only timer."""


@pytest.fixture
def usr1_cancels_main() -> Iterator[dict[str, asyncio.Task[Any]]]:
    """SIGUSR1 cancels the task stored under "main", as Ctrl+C cancels a command's."""
    tasks: dict[str, asyncio.Task[Any]] = {}
    previous = signal.signal(signal.SIGUSR1, lambda *_: tasks["main"].cancel())
    yield tasks
    signal.signal(signal.SIGUSR1, previous)


def _signal_from_another_thread() -> None:
    # `raise_signal` delivers to the calling thread: this one, not the loop's. The pause
    # lets the loop's thread go to sleep in `epoll_wait` first, where plain asyncio would
    # not see the signal until its next timer (checked by hand: it sleeps the whole WAIT;
    # not a test of its own, as a loop that is slow to fall asleep sees the signal anyway).
    time.sleep(0.5)
    signal.raise_signal(signal.SIGUSR1)


async def _sleep_until_cancelled(tasks: dict[str, asyncio.Task[Any]]) -> float:
    main = asyncio.current_task()
    assert main is not None
    tasks["main"] = main
    threading.Thread(target=_signal_from_another_thread).start()
    start = time.monotonic()
    try:
        await asyncio.sleep(WAIT)
    except asyncio.CancelledError:
        return time.monotonic() - start
    return WAIT


def test_a_signal_on_another_thread_wakes_the_loop(
    usr1_cancels_main: dict[str, asyncio.Task[Any]],
) -> None:
    waited = event_loop.run(_sleep_until_cancelled(usr1_cancels_main))
    assert waited < WAIT / 2
