"""Scale tests of the Data pane: the row bound while paging 200,000 rows, counts, interrupts."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dbinspect.browse.window import page_rows
from dbinspect.models import RowPage
from dbinspect.tui.data import CACHE_ROWS, DataPane, RowWindow
from dbinspect.url import parse_url
from tui.data_fixtures import PaneApp, build_big, build_shop, screen_lines, settle
from tui.helpers import wait_until

ROWS = 200_000
SIZE = (100, 30)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_big(tmp_path_factory.mktemp("big") / "big.db", ROWS)


def _page(start: int, count: int) -> RowPage:
    ids = range(start, start + count)
    return RowPage(("id",), tuple((i,) for i in ids), tuple((i,) for i in ids), ("rowid",))


def test_window_stays_bounded_and_settles_on_the_ends() -> None:
    window = RowWindow(max_rows=300)
    window.reset(0, page_rows(_page(1, 200)), at_start=True, at_end=False)
    for step in range(10):
        window.append(page_rows(_page(201 + step * 200, 200)), at_end=False, keep=window.end - 50)
        assert len(window) <= 300
    assert window.peak == 300 and not window.at_start
    assert window.get(window.end - 1) is not None and window.get(0) is None
    # A window reached by an estimated jump is moved so its last row is the last position.
    window.reset(900, page_rows(_page(5000, 10)), at_start=False, at_end=True)
    assert window.settle(1000, exact=True) == (90, 1000)
    assert window.start == 990
    # Both ends held: the count is what the window holds, whatever the estimate said.
    window.reset(0, page_rows(_page(1, 10)), at_start=True, at_end=True)
    assert window.settle(5000, exact=False) == (0, 10)


def test_plan_extends_near_and_seeks_far() -> None:
    window = RowWindow()
    window.reset(0, page_rows(_page(1, 200)), at_start=True, at_end=False)
    near = window.plan(180, 210, 1_000_000)
    assert near is not None and near.kind == "after"
    far = window.plan(500_000, 500_030, 1_000_000)
    assert far is not None and far.kind == "seek" and far.position <= 500_000
    end = window.plan(999_970, 1_000_000, 1_000_000)
    assert end is not None and end.kind == "last"
    assert window.plan(10, 40, 1_000_000) is None


async def test_paging_200k_rows_never_holds_more_than_the_bound(big: Path) -> None:
    app = PaneApp(big, "big")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        grid = pane.grid
        assert pane.total == ROWS and pane.exact
        step = 590  # within reach of the window: every step extends it by key
        top = 0
        while top < ROWS - grid.data_height:
            top = min(top + step, ROWS - grid.data_height)
            grid.scroll_to(y=top, animate=False)
            for _ in range(15_000):  # 30 s: only a hang runs out
                await asyncio.sleep(0.002)
                if pane.window.get(min(ROWS - 1, top + grid.data_height)) is not None:
                    break
            else:
                raise AssertionError(f"the rows at {top:,} were never fetched")
            first = pane.window.get(top)
            assert first is not None and first.values[0] == top + 1
            assert len(pane.window) <= CACHE_ROWS
        assert pane.window.peak <= CACHE_ROWS
        assert screen_lines(pane)[-1].split()[0] == str(ROWS)


async def test_estimate_is_marked_then_replaced_by_the_exact_count(big: Path) -> None:
    app = PaneApp(big, "sparse")
    async with app.run_test(size=SIZE) as pilot:
        pane = app.query_one(DataPane)
        seen: list[str] = []
        for _ in range(200):
            await pilot.pause(0.005)
            seen.append(str(app.query_one("#data-count").render()))
            if pane.exact:
                break
        await settle(pilot)
        assert any(text.startswith("~10,000,000 rows") for text in seen)
        assert str(app.query_one("#data-count").render()) == "1,000 rows"
        await pilot.press("end")
        await settle(pilot)
        assert pane.grid.cursor_row == 999
        assert screen_lines(pane)[-1].split()[0] == "10000000"


def count_text(app: PaneApp) -> str:
    return str(app.query_one("#data-count").render())


async def count_connection_answers(pane: DataPane) -> None:
    """Check the count's connection answers a query: no count is left running on it."""
    assert pane.connections is not None
    counter = await pane.connections.get("count")
    await asyncio.wait_for(counter.change_marker(), 30)


@contextlib.asynccontextmanager
async def no_count_left_running(app: PaneApp) -> AsyncIterator[None]:
    """On the way out, even from a failed test, stop every count: closing the app would
    otherwise wait hours for one over the 4e10-row view."""
    try:
        yield
    finally:
        for worker in app.workers:
            if worker.group == "data-count":
                worker.cancel()
        connections = app.query_one(DataPane).connections
        if connections is not None:
            await connections.interrupt("count")


async def test_stopping_a_filtered_count_keeps_the_pane_usable(big: Path) -> None:
    # Filtered or not, counting the 4e10-row view would take hours: its count is surely
    # still running when Esc stops it.
    # (A key pressed while the count runs takes Textual's pilot 2 s: it waits for idle.)
    app = PaneApp(big, "heavy")
    async with app.run_test(size=SIZE) as pilot, no_count_left_running(app):
        pane = app.query_one(DataPane)
        await wait_until(
            pilot,
            lambda: pane.window.rows and "counting" in count_text(app),
            "the view's first rows, and its count running",
        )
        await pilot.press("escape")  # the whole view's count
        await settle(pilot)
        assert "counting" not in count_text(app)
        pane.grid.move_cursor(0, 1)
        await pilot.press("slash", *"%7%", "enter")

        def counting_filtered() -> bool:
            rows = pane.window.rows
            shown = bool(rows) and all("7" in str(row.values[1]) for row in rows)
            return shown and "counting" in count_text(app)

        await wait_until(pilot, counting_filtered, "the filtered rows, and their count running")
        await pilot.press("escape")
        assert not any(w.group == "data-count" and w.is_running for w in pane.workers)
        await count_connection_answers(pane)  # its statement was interrupted too
        await settle(pilot)  # nothing is left running
        assert "counting" not in count_text(app)
        assert all("7" in str(row.values[1]) for row in pane.window.rows)
        for _ in range(3):  # paging on still reads rows, under the filter
            await pilot.press("pagedown")
            await settle(pilot)
        row = pane.grid.cursor_cached_row
        assert pane.grid.cursor_row >= 3 * pane.grid.data_height
        assert row is not None and "7" in str(row.values[1])
        pane.follow_writes()  # another process wrote: the rows are read again, not counted

        def reread() -> bool:
            return not any(w.group == "data-open" and not w.is_finished for w in pane.workers)

        await wait_until(pilot, reread, "the rows read again")
        assert not any(w.group == "data-count" and not w.is_finished for w in pane.workers)
        assert "counting" not in count_text(app)


async def test_end_of_a_filtered_table_is_its_last_matching_row(big: Path) -> None:
    app = PaneApp(big, "big")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(0, 1)
        await pilot.press("slash", *"b", "enter")
        await settle(pilot)
        assert all(row.values[1] == "b" for row in pane.window.rows)
        await pilot.press("end")
        await settle(pilot)
        last = pane.grid.cursor_cached_row
        assert last is not None and last.values[0] == ROWS - 3


async def test_heavy_view_is_interrupted_when_the_user_moves_on(big: Path, tmp_path: Path) -> None:
    app = PaneApp(big, "heavy")
    async with app.run_test(size=SIZE) as pilot, no_count_left_running(app):
        pane = app.query_one(DataPane)
        # The view is 4e10 rows: its count would take hours.
        await wait_until(
            pilot,
            lambda: pane.window.rows and "counting" in count_text(app),
            "the view's first rows, and its count running",
        )
        await pilot.press("end")
        await wait_until(pilot, lambda: pane.grid.cursor_row > 0, "End")
        pane.show(parse_url(str(big)), "big")
        # How soon the rows show is measured by benchmarks/bench_switch.py.
        await wait_until(pilot, lambda: pane.table == "big" and pane.window.rows, "big's rows")
        assert pane.window.rows[0].values[0] == 1
        # The view's count was stopped, not left running.
        await wait_until(
            pilot,
            lambda: not any(w.group == "data-count" and w.is_running for w in pane.workers),
            "the view's count stopped",
        )
        assert "counting" not in count_text(app)
        await count_connection_answers(pane)
        shop = build_shop(tmp_path / "shop.db")
        pane.show(parse_url(str(shop)), "users")
        await settle(pilot)
        assert pane.table == "users" and pane.window.rows[0].values[1] == "user1"


@pytest.mark.parametrize("seed", range(4))
async def test_rapid_scrollbar_jumps_always_end_with_rows_shown(big: Path, seed: int) -> None:
    # A drag cancels fetch after fetch; a cancelled fetch must never leave the
    # connection in a state where every later query is interrupted.
    rng = random.Random(seed)
    app = PaneApp(big, "big")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        grid = pane.grid
        for _ in range(40):
            grid.scroll_to(y=rng.randrange(0, ROWS - grid.data_height), animate=False)
            await asyncio.sleep(rng.choice([0, 0.001, 0.003, 0.01]))
        await settle(pilot)
        top = int(grid.scroll_y)
        shown = pane.window.get(top)
        assert shown is not None and shown.values[0] == top + 1
        await pilot.press("end")
        await settle(pilot)
        assert screen_lines(pane)[-1].split()[0] == str(ROWS)
