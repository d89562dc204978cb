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
    # `raise_signal` delivers to the calling thread: this one, not the loop's.
    threading.Thread(target=signal.raise_signal, args=(signal.SIGUSR1,)).start()


async def _sleep_until_cancelled(tasks: dict[str, asyncio.Task[Any]]) -> float:
    main = asyncio.current_task()
    assert main is not None
    tasks["main"] = main
    asyncio.get_running_loop().call_later(0.2, _signal_from_another_thread)
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


def test_without_it_the_loop_sleeps_on(usr1_cancels_main: dict[str, asyncio.Task[Any]]) -> None:
    # What the module exists for: plain asyncio only sees the signal at its next timer.
    waited = asyncio.run(_sleep_until_cancelled(usr1_cancels_main))
    assert waited >= WAIT / 2
