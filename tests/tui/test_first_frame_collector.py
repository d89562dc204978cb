"""The launched app turns the cyclic collector on once its first frame is on screen."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbinspect.tui.launch import collect_from_now
from tui.helpers import SIZE, OpenApp, settle


@pytest.fixture
def collector_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    try:
        yield
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


@pytest.mark.usefixtures("collector_restored")
def test_collect_from_now_sets_start_up_aside_and_turns_the_collector_on() -> None:
    gc.disable()
    collect_from_now()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 1000  # the modules, classes and functions loaded so far


@pytest.mark.usefixtures("collector_restored")
def test_collect_from_now_leaves_a_running_collector_alone() -> None:
    gc.enable()
    collect_from_now()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


async def test_the_app_says_when_its_first_frame_is_drawn(demo_db: Path, open_app: OpenApp) -> None:
    drawn: list[bool] = []
    async with open_app(demo_db) as app:
        app.session.on_first_frame = lambda: drawn.append(app.screen.is_current)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert drawn == [True]  # once, with the main screen showing
