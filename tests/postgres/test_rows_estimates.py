"""PostgreSQL row counts, jumps and positions on tables too big to count at a glance.

A jump into the middle of a table must be a key (or block) estimate, never an OFFSET
scan: the statements run are recorded and checked, and the rows landed on are checked
against the server's own ranks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from pg_rows_kit import STATEMENTS, BrowsableRows, open_rows
from pgkit import fresh_database, query, run_sql

from dbinspect.backends.postgres_rows_jump import EXACT_BLOCKS
from dbinspect.browse.protocol import Relation
from dbinspect.models import Filter, RowQuery

ROWS = 150_000
SETUP = f"""
CREATE TABLE big (id int PRIMARY KEY, v text);
INSERT INTO big SELECT g, md5(g::text) || md5((-g)::text) FROM generate_series(1, {ROWS}) g;
ANALYZE big;
CREATE TABLE big_heap AS SELECT id AS a, v FROM big ORDER BY id;
ANALYZE big_heap;
CREATE TABLE big_text (id text PRIMARY KEY, n int);
INSERT INTO big_text SELECT md5(g::text) || md5((-g)::text), g FROM generate_series(1, {ROWS}) g;
ANALYZE big_text;
-- Never analyzed: reltuples is -1 and there is no histogram.
CREATE TABLE fresh (id int PRIMARY KEY, v text);
INSERT INTO fresh SELECT g * 2, md5(g::text) || md5((-g)::text) FROM generate_series(1, {ROWS}) g;
CREATE TABLE pairs (a int, b int, PRIMARY KEY (a, b));
INSERT INTO pairs SELECT g / 10, g % 10 FROM generate_series(0, {ROWS} - 1) g;
ANALYZE pairs;
CREATE TABLE small (id text PRIMARY KEY);
INSERT INTO small SELECT 'k' || g FROM generate_series(1, 321) g;
CREATE TABLE parts (a int, v text) PARTITION BY RANGE (a);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (20000);
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES FROM (20000) TO (200000);
INSERT INTO parts SELECT id, v FROM big;
ANALYZE parts;
CREATE VIEW v AS SELECT * FROM big WHERE id % 2 = 0;
"""


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with fresh_database() as created:
        run_sql(created, SETUP)
        yield created


@pytest.fixture
async def rows(url: str) -> AsyncIterator[BrowsableRows]:
    async with open_rows(url, record=True) as opened:
        STATEMENTS.clear()
        yield opened


def blocks(url: str, name: str) -> int:
    found = query(url, f"SELECT pg_relation_size('{name}') / 8192")
    return int(str(found[0][0]))


def test_the_tables_are_big_enough_to_be_estimated(url: str) -> None:
    assert min(blocks(url, n) for n in ("big", "big_heap", "fresh", "parts_2")) > EXACT_BLOCKS


@pytest.mark.parametrize("name", ["big", "big_heap", "big_text", "parts"])
async def test_the_estimate_of_an_analyzed_table(rows: BrowsableRows, name: str) -> None:
    estimate = await rows.row_estimate(Relation(None, name))
    assert not estimate.exact and estimate.value == pytest.approx(ROWS, rel=0.01)
    assert not any("count(" in s for s in STATEMENTS)


async def test_the_estimate_of_a_table_never_analyzed(rows: BrowsableRows) -> None:
    estimate = await rows.row_estimate(Relation(None, "fresh"))
    assert not estimate.exact and ROWS / 2 < estimate.value < ROWS * 2
    assert not any("count(" in s for s in STATEMENTS)


async def test_a_small_table_is_counted(rows: BrowsableRows) -> None:
    estimate = await rows.row_estimate(Relation(None, "small"))
    assert estimate.exact and estimate.value == 321


def no_scan() -> bool:
    return not any("OFFSET" in s or "count(" in s for s in STATEMENTS)


async def test_a_jump_into_the_middle_goes_by_the_key_histogram(rows: BrowsableRows) -> None:
    page, position = await rows.page_near(
        Relation(None, "big"), RowQuery(), ROWS // 2, ROWS, limit=50
    )
    first = page.rows[0][0]
    assert isinstance(first, int) and abs(first - ROWS // 2) < ROWS * 0.02
    assert abs(position - (first - 1)) < ROWS * 0.02
    assert [r[0] for r in page.rows] == list(range(first, first + 50))
    assert no_scan() and any("histogram_bounds" in s for s in STATEMENTS)


async def test_a_jump_by_the_first_column_of_a_composite_key(rows: BrowsableRows) -> None:
    page, position = await rows.page_near(
        Relation(None, "pairs"), RowQuery(), ROWS // 2, ROWS, limit=30
    )
    a, b = page.keys[0]
    assert isinstance(a, int) and b == 0 and abs(a * 10 - ROWS // 2) < ROWS * 0.02
    assert abs(position - a * 10) < ROWS * 0.02
    assert page.keys[10] == (a + 1, 0)
    assert no_scan()


async def test_a_jump_by_a_text_key(rows: BrowsableRows, url: str) -> None:
    page, position = await rows.page_near(
        Relation(None, "big_text"), RowQuery(), ROWS // 4, ROWS, limit=10
    )
    rank = query(url, "SELECT count(*) FROM big_text WHERE id < %s", (page.rows[0][0],))
    assert abs(int(str(rank[0][0])) - ROWS // 4) < ROWS * 0.02
    assert abs(position - ROWS // 4) < ROWS * 0.02
    assert no_scan()


async def test_a_jump_without_statistics_interpolates_the_key(rows: BrowsableRows) -> None:
    page, position = await rows.page_near(
        Relation(None, "fresh"), RowQuery(), ROWS // 3, ROWS, limit=10
    )
    first = page.rows[0][0]
    assert isinstance(first, int) and abs(first // 2 - ROWS // 3) < ROWS * 0.01
    assert abs(position - ROWS // 3) < ROWS * 0.01
    assert no_scan()


@pytest.mark.parametrize("name", ["big_heap", "parts"])
async def test_a_jump_without_a_key_goes_by_block(rows: BrowsableRows, name: str) -> None:
    page, position = await rows.page_near(
        Relation(None, name), RowQuery(), ROWS * 3 // 4, ROWS, limit=20
    )
    first = page.rows[0][0]
    assert isinstance(first, int) and abs(first - ROWS * 3 // 4) < ROWS * 0.02
    assert abs(position - first) < ROWS * 0.02
    assert no_scan()


async def test_a_jump_to_the_end_shows_the_last_rows(rows: BrowsableRows) -> None:
    page, position = await rows.page_near(
        Relation(None, "big"), RowQuery(), ROWS - 1, ROWS, limit=5
    )
    assert page.rows[-1][0] == ROWS and position > ROWS * 0.98


async def test_a_filtered_jump_reads_by_offset(rows: BrowsableRows) -> None:
    query_ = RowQuery(filters=(Filter("id", "<=", "1000"),))
    page, position = await rows.page_near(Relation(None, "big"), query_, 500, 1000, limit=5)
    assert position == 500 and [r[0] for r in page.rows] == [501, 502, 503, 504, 505]


async def test_positions_of_keys(rows: BrowsableRows, url: str) -> None:
    position = await rows.position_of(Relation(None, "big"), RowQuery(), (100_000,), ROWS)
    assert abs(position - 99_999) < ROWS * 0.02 and no_scan()
    ctid = str(query(url, "SELECT ctid::text AS t FROM big_heap WHERE a = 30000")[0][0])
    position = await rows.position_of(Relation(None, "big_heap"), RowQuery(), (ctid,), ROWS)
    assert abs(position - 29_999) < ROWS * 0.02 and no_scan()
    position = await rows.position_of(Relation(None, "small"), RowQuery(), ("k2",), 321)
    assert position == query(url, "SELECT count(*) FROM small WHERE id < 'k2'")[0][0]
    assert await rows.position_of(Relation(None, "v"), RowQuery(), (77,), 100) == 77


@pytest.mark.parametrize("name", ["big", "big_heap", "parts"])
async def test_a_count_in_steps(rows: BrowsableRows, name: str) -> None:
    steps = [step async for step in rows.count_stepwise(Relation(None, name), RowQuery())]
    assert len(steps) > 1 and steps[-1] == (ROWS, 1.0)
    fractions = [fraction for _, fraction in steps]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1
    counts = [count for count, _ in steps]
    assert counts == sorted(counts)


async def test_a_filtered_count_in_steps(rows: BrowsableRows, url: str) -> None:
    query_ = RowQuery(filters=(Filter("v", "like", "a%"),))
    steps = [step async for step in rows.count_stepwise(Relation(None, "big"), query_)]
    expected = query(url, "SELECT count(*) FROM big WHERE v LIKE 'a%'")[0][0]
    assert steps[-1] == (expected, 1.0)


async def test_a_view_is_counted_in_one_statement(rows: BrowsableRows) -> None:
    steps = [step async for step in rows.count_stepwise(Relation(None, "v"), RowQuery())]
    assert steps == [(ROWS // 2, 1.0)]
    assert (await rows.row_count("v")).value == ROWS // 2
