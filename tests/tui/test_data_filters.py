"""Pilot tests on Chinook: combined filters as chips, and foreign keys followed backwards."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from testkit import CHINOOK
from textual.widgets import Button, OptionList

from dbinspect.models import Filter
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.data import DataPane
from dbinspect.tui.data.filters import filter_from_text, filter_label
from dbinspect.tui.data.references import ReferenceChooser
from tui.data_fixtures import PaneApp, settle

SIZE = (140, 30)
STATE, COUNTRY = 6, 7
"""Columns of Customer."""


@pytest.fixture
def chinook(tmp_path: Path, corpus_db: Callable[[Path], Path]) -> Path:
    copy = tmp_path / "chinook.db"
    shutil.copyfile(corpus_db(CHINOOK), copy)
    return copy


def first_cells(path: Path, sql: str) -> list[object]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute(sql)]
    finally:
        conn.close()


def shown(pane: DataPane) -> list[object]:
    return [row.values[0] for row in pane.window.rows]


def chips(pane: DataPane) -> list[str]:
    return [str(chip.label) for chip in pane.query("#data-chips Button").results(Button)]


async def test_filters_combine_as_removable_chips(chinook: Path) -> None:
    app = PaneApp(chinook, "Customer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(0, COUNTRY)
        await pilot.press("slash", *"usa", "enter")
        await settle(pilot)
        usa = first_cells(chinook, "SELECT CustomerId FROM Customer WHERE Country = 'USA'")
        assert len(usa) == 13 and shown(pane) == usa and pane.total == 13
        assert chips(pane) == ["Country = usa ✕"]
        pane.grid.move_cursor(0, STATE)
        await pilot.press("slash", *"CA", "enter")
        await settle(pilot)
        both = first_cells(
            chinook, "SELECT CustomerId FROM Customer WHERE Country = 'USA' AND State = 'CA'"
        )
        assert len(both) == 3 and shown(pane) == both
        assert chips(pane) == ["Country = usa ✕", "State = CA ✕"]
        assert "where Country = usa and State = CA" in str(app.query_one("#data-query").render())
        await pilot.click("#data-chips Button")  # the first chip: the country filter goes
        await settle(pilot)
        assert pane.row_query.filters == (filter_from_text("State", "CA"),)
        assert shown(pane) == first_cells(
            chinook, "SELECT CustomerId FROM Customer WHERE State = 'CA'"
        )
        await pilot.press("backspace")
        await settle(pilot)
        assert pane.row_query.filters == () and pane.total == 59 and chips(pane) == []
        assert not app.query_one("#data-chips").has_class("-active")
        await pilot.press("slash", *"is null", "enter")
        await pilot.press("slash", *"!= ca", "enter")
        await settle(pilot)
        assert len(pane.row_query.filters) == 2
        await pilot.press("F")
        await settle(pilot)
        assert pane.row_query.filters == () and pane.total == 59


async def test_a_filter_on_a_number_column_compares_numbers(chinook: Path) -> None:
    app = PaneApp(chinook, "Invoice")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(0, pane.grid.columns.index("Total"))
        await pilot.press("slash", *">= 15", "enter")
        await settle(pilot)
        want = first_cells(chinook, "SELECT InvoiceId FROM Invoice WHERE Total >= 15")
        assert want and shown(pane) == want and pane.total == len(want)


def test_chip_labels_escape_names_and_values() -> None:
    label = filter_label(Filter("a\x1b[31m", "equals", "\x07[b]red[/b]", case_sensitive=True))
    assert "\x1b" not in label.plain and "\x07" not in label.plain
    assert "[b]red[/b]" in label.plain and "==" in label.plain


def test_the_box_syntax() -> None:
    assert filter_from_text("c", "usa") == Filter("c", "equals", "usa", case_sensitive=False)
    assert filter_from_text("c", "== USA") == Filter("c", "equals", "USA", case_sensitive=True)
    assert filter_from_text("c", "!=x") == Filter("c", "not equals", "x", case_sensitive=False)
    assert filter_from_text("c", ">= 10") == Filter("c", ">=", "10")
    assert filter_from_text("c", "< 10") == Filter("c", "<", "10")
    assert filter_from_text("c", "like %a%") == Filter("c", "like", "%a%", case_sensitive=False)
    assert filter_from_text("c", "a%") == Filter("c", "like", "a%", case_sensitive=False)
    assert filter_from_text("c", "Is Null") == Filter("c", "is null")
    assert filter_from_text("c", "is not null") == Filter("c", "is not null")
    assert filter_from_text("c", "= null") == Filter("c", "equals", "null", case_sensitive=False)
    assert filter_from_text("c", "likely") == Filter("c", "equals", "likely", case_sensitive=False)


async def test_f_on_a_referenced_key_opens_the_rows_referencing_it_and_b_returns(
    chinook: Path,
) -> None:
    app = PaneApp(chinook, "Customer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(0, 0)  # Customer 1's CustomerId
        await pilot.press("f")
        await settle(pilot)
        assert pane.table == "Invoice"
        want = first_cells(chinook, "SELECT InvoiceId FROM Invoice WHERE CustomerId = 1")
        assert len(want) == 7 and shown(pane) == want and pane.total == 7
        assert chips(pane) == ["CustomerId == 1 ✕"]
        await pilot.press("b")
        await settle(pilot)
        assert pane.table == "Customer" and pane.row_query.filters == ()
        row = pane.grid.cursor_cached_row
        assert row is not None and row.values[0] == 1 and pane.grid.cursor_col == 0


async def test_several_referencing_keys_offer_a_choice(chinook: Path) -> None:
    app = PaneApp(chinook, "Employee")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(2, 0)  # Employee 3 (Jane Peacock)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, ReferenceChooser)
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert labels == ["Customer (SupportRepId = 3)", "Employee (ReportsTo = 3)"]
        await pilot.press("enter")  # the first: her customers
        await settle(pilot)
        assert pane.table == "Customer"
        want = first_cells(chinook, "SELECT CustomerId FROM Customer WHERE SupportRepId = 3")
        assert len(want) == 21 and shown(pane) == want
        await pilot.press("b")
        await settle(pilot)
        assert pane.table == "Employee"
        row = pane.grid.cursor_cached_row
        assert row is not None and row.values[0] == 3


async def test_f_where_nothing_references_the_column_says_so(chinook: Path) -> None:
    app = PaneApp(chinook, "Customer")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(DataPane)
        pane.grid.move_cursor(0, 1)  # FirstName
        await pilot.press("f")
        await settle(pilot)
        assert pane.table == "Customer" and not pane.history
