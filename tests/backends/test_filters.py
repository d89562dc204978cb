"""Filters on Chinook: each operator, several at once, and keyset paging under them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit import CHINOOK

from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.models import Filter, RowQuery, Value
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.tui.data.filters import filter_from_text
from dbinspect.url import parse_url


@pytest.fixture
def chinook(tmp_path: Path, corpus_db: Callable[[Path], Path]) -> Path:
    copy = tmp_path / "chinook.db"
    shutil.copyfile(corpus_db(CHINOOK), copy)
    return copy


@pytest.fixture
async def backend(chinook: Path) -> AsyncIterator[SqliteBackend]:
    opened = await SqliteBackend.open(parse_url(str(chinook)))
    try:
        yield opened
    finally:
        await opened.aclose()


def sqlite_ids(path: Path, sql: str, params: tuple[Value, ...] = ()) -> list[object]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute(sql, params)]
    finally:
        conn.close()


async def all_ids(backend: SqliteBackend, table: str, query: RowQuery, limit: int) -> list[object]:
    """Every row's first cell, read forward a page of `limit` rows at a time by key."""
    page = await backend.fetch_page(table, query, limit=limit)
    found = [row[0] for row in page.rows]
    while len(page.rows) == limit:
        page = await backend.fetch_page(table, query, after=page.keys[-1], limit=limit)
        found += [row[0] for row in page.rows]
    return found


# The box's text on a column, and the WHERE that sqlite3 runs for the same rows.
OPERATORS = [
    ("Country", "usa", "Country = 'usa' COLLATE NOCASE"),
    ("Country", "= usa", "Country = 'usa' COLLATE NOCASE"),
    ("Country", "== USA", "Country = 'USA'"),
    ("Country", "== Brazil", "Country = 'Brazil'"),
    ("Country", "!= usa", "Country != 'usa' COLLATE NOCASE"),
    ("SupportRepId", "< 4", "SupportRepId < 4"),
    ("SupportRepId", "<= 4", "SupportRepId <= 4"),
    ("SupportRepId", "> 4", "SupportRepId > 4"),
    ("SupportRepId", ">= 4", "SupportRepId >= 4"),
    ("Country", "> M", "Country > 'M'"),
    ("Country", "like %an%", "Country LIKE '%an%'"),
    ("Country", "LIKE b%", "Country LIKE 'b%'"),
    ("Country", "%AN%", "Country LIKE '%AN%'"),
    ("Company", "is null", "Company IS NULL"),
    ("Company", "NULL", "Company IS NULL"),
    ("Company", "is not null", "Company IS NOT NULL"),
    ("State", "IS  NOT NULL", "State IS NOT NULL"),
    ("PostalCode", "> 5", "PostalCode > 5"),
]


@pytest.mark.parametrize(("column", "text", "where"), OPERATORS)
async def test_each_operator_gives_the_rows_sqlite_gives(
    backend: SqliteBackend, chinook: Path, column: str, text: str, where: str
) -> None:
    query = RowQuery(filters=(filter_from_text(column, text),))
    want = sqlite_ids(chinook, f"SELECT CustomerId FROM Customer WHERE {where} ORDER BY 1")
    assert want, "a filter that keeps no row proves little"
    assert await all_ids(backend, "Customer", query, limit=7) == want
    count = [step async for step in backend.count_stepwise("Customer", query)][-1][0]
    assert count == len(want)


async def test_a_lowercase_value_finds_the_usa_customers(
    backend: SqliteBackend, chinook: Path
) -> None:
    query = RowQuery(filters=(filter_from_text("Country", "usa"),))
    found = await all_ids(backend, "Customer", query, limit=100)
    assert len(found) == 13
    assert found == sqlite_ids(chinook, "SELECT CustomerId FROM Customer WHERE Country = 'USA'")
    exact = RowQuery(filters=(filter_from_text("Country", "== usa"),))
    assert await all_ids(backend, "Customer", exact, limit=100) == []


async def test_two_filters_combine(backend: SqliteBackend, chinook: Path) -> None:
    query = RowQuery(
        filters=(filter_from_text("Country", "usa"), filter_from_text("State", "ca")),
    )
    want = sqlite_ids(
        chinook, "SELECT CustomerId FROM Customer WHERE Country = 'USA' AND State = 'CA'"
    )
    assert len(want) == 3
    assert await all_ids(backend, "Customer", query, limit=2) == want


async def test_values_stay_parameters(backend: SqliteBackend) -> None:
    hostile = "x' OR 1=1 --"
    for text in (hostile, f"!= {hostile}", f"like {hostile}%", f"> {hostile}"):
        query = RowQuery(filters=(filter_from_text("Country", text),))
        page = await backend.fetch_page("Customer", query, limit=100)
        assert all(hostile not in str(row) for row in page.rows)
    query = RowQuery(filters=(filter_from_text("Country", f"!= {hostile}"),))
    assert len((await backend.fetch_page("Customer", query, limit=100)).rows) == 59


FILTER_TEXTS = st.sampled_from(
    ["usa", "!= usa", "> 5", "<= 3", "like %a%", "is not null", "== Brazil", "> M", "null"]
)
COLUMNS = st.sampled_from(["Country", "SupportRepId", "State", "BillingCountry", "Total"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(st.tuples(COLUMNS, FILTER_TEXTS), min_size=1, max_size=3),
    sort=st.sampled_from([None, "BillingCountry", "Total", "BillingState"]),
    descending=st.booleans(),
    limit=st.integers(1, 9),
)
def test_keyset_paging_under_several_filters_reads_each_row_once(
    chinook: Path,
    texts: list[tuple[str, str]],
    sort: str | None,
    descending: bool,
    limit: int,
) -> None:
    import asyncio

    table = "Invoice"
    columns = {"Country": "BillingCountry", "State": "BillingState", "SupportRepId": "Total"}
    filters = tuple(filter_from_text(columns.get(c, c), t) for c, t in texts)
    query = RowQuery(filters=filters, sort_column=sort, descending=descending)

    async def read() -> tuple[list[object], list[object]]:
        backend = await SqliteBackend.open(parse_url(str(chinook)))
        try:
            forward = await all_ids(backend, table, query, limit)
            page = await backend.fetch_page(table, query, before=(), limit=limit)
            backward = [row[0] for row in page.rows]
            while len(page.rows) == limit:
                page = await backend.fetch_page(table, query, before=page.keys[0], limit=limit)
                backward = [row[0] for row in page.rows] + backward
            return forward, backward
        finally:
            await backend.aclose()

    forward, backward = asyncio.run(read())
    where, params = _where(filters)
    direction = "DESC" if descending else "ASC"
    order = f"{sort} {direction}, InvoiceId {direction}" if sort else f"InvoiceId {direction}"
    want = sqlite_ids(
        chinook, f"SELECT InvoiceId FROM Invoice WHERE {where} ORDER BY {order}", params
    )
    assert forward == want
    assert backward == want


def _where(filters: tuple[Filter, ...]) -> tuple[str, tuple[Value, ...]]:
    """The WHERE a person would write for the filters the box made (a test oracle)."""
    parts: list[str] = []
    params: list[Value] = []
    symbols = {"equals": "=", "not equals": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
    for found in filters:
        column = f'"{found.column}"'
        if found.operator in ("is null", "is not null"):
            parts.append(f"{column} {found.operator.upper()}")
            continue
        if found.operator == "like":
            parts.append(f"{column} LIKE ?")
            params.append(found.value)
            continue
        value = found.value
        number = _number(value)
        collate = "" if found.case_sensitive else " COLLATE NOCASE"
        parts.append(f"{column} {symbols[found.operator]} ?{collate}")
        params.append(number if number is not None else value)
    return " AND ".join(parts), tuple(params)


def _number(value: Value) -> float | None:
    try:
        return float(str(value))
    except ValueError:
        return None
