"""PostgreSQL row paging on the real server: every key the Data pane pages on, both ways.

Each walk reads a relation page by page, after the last row (or before the first) and
is checked against the order the server itself gives with ORDER BY.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pg_rows_kit import BrowsableRows, firsts, open_rows, walk_backward, walk_forward
from pgkit import fresh_database, query, run_sql

from dbinspect.browse.protocol import Relation
from dbinspect.errors import QueryError
from dbinspect.models import Filter, RowQuery

SETUP = """
CREATE TABLE t_int (id int PRIMARY KEY, name text, grp int);
INSERT INTO t_int SELECT g, 'n' || lpad(g::text, 5, '0'), g % 3 FROM generate_series(1, 1000) g;

CREATE TABLE t_comp (a text, b int, note text, PRIMARY KEY (a, b));
INSERT INTO t_comp SELECT 'k' || (g % 10), g, 'x' FROM generate_series(1, 300) g;

-- A linguistic collation orders a A b B, unlike the bytes: seeks must use it too.
CREATE TABLE t_text (code text COLLATE "en-x-icu" PRIMARY KEY, n int);
INSERT INTO t_text SELECT w, row_number() OVER () FROM unnest(ARRAY[
  'b', 'B', 'a', 'A', 'é', 'e', 'E', 'Z', 'z', '10', '9', ' space', 'ß', 'ss', 'Ä', 'a b',
  'a-b', 'ab', '', 'Ω', '日本', 'x''q', '"dq"']) AS w;
INSERT INTO t_text SELECT md5(g::text) || chr(65 + g % 26), g + 100 FROM generate_series(1, 150) g;

CREATE TABLE t_uuid (id uuid PRIMARY KEY, n int);
INSERT INTO t_uuid SELECT md5(g::text)::uuid, g FROM generate_series(1, 200) g;

CREATE TABLE t_ts (at timestamptz, kind text, n int, PRIMARY KEY (at, kind));
INSERT INTO t_ts SELECT '2026-01-01'::timestamptz + (g % 50) * interval '1.5 second',
  'k' || (g / 50), g FROM generate_series(0, 199) g;

CREATE TABLE t_real (r real PRIMARY KEY, n int);
INSERT INTO t_real SELECT g / 10.0, g FROM generate_series(1, 120) g;

-- No primary key: paged by ctid, with holes left by deleted and moved rows.
CREATE TABLE heap (a int, b text);
INSERT INTO heap SELECT g, repeat('h', g % 50) FROM generate_series(1, 2000) g;
DELETE FROM heap WHERE a % 7 = 0;
UPDATE heap SET b = 'moved' WHERE a % 11 = 0;
ANALYZE heap;  -- so that a page's first window of blocks is a tight one

CREATE TABLE empty_heap (a int);

CREATE TABLE parts (a int, b text) PARTITION BY RANGE (a);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (300);
CREATE TABLE parts_2 PARTITION OF parts FOR VALUES FROM (300) TO (600);
CREATE TABLE parts_3 PARTITION OF parts FOR VALUES FROM (600) TO (1000);
INSERT INTO parts SELECT g, 'p' || g FROM generate_series(0, 999) g;

CREATE TABLE parts_pk (a int PRIMARY KEY, b text) PARTITION BY RANGE (a);
CREATE TABLE parts_pk_1 PARTITION OF parts_pk FOR VALUES FROM (0) TO (500);
CREATE TABLE parts_pk_2 PARTITION OF parts_pk FOR VALUES FROM (500) TO (1000);
INSERT INTO parts_pk SELECT g, 'q' || g FROM generate_series(0, 999) g;

CREATE VIEW v AS SELECT id, name, grp FROM t_int WHERE grp = 1;
CREATE MATERIALIZED VIEW mv AS SELECT id, name FROM t_int WHERE grp = 2;
"""


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with fresh_database() as created:
        run_sql(created, SETUP)
        yield created


@pytest.fixture
async def rows(url: str) -> AsyncIterator[BrowsableRows]:
    async with open_rows(url) as opened:
        yield opened


def ordered(url: str, sql: str) -> list[Any]:
    return [r[0] for r in query(url, sql)]


query_rows = ordered


async def both_ways(rows: BrowsableRows, name: str, limit: int = 37) -> list[Any]:
    """The first cells walking forward; walking backward must give the same rows."""
    forward = await walk_forward(rows, Relation(None, name), limit=limit)
    backward = await walk_backward(rows, Relation(None, name), limit=limit)
    assert backward == forward
    keys = [key for key, _ in forward]
    assert len(set(keys)) == len(keys)
    return firsts(forward)


async def test_integer_primary_key(rows: BrowsableRows, url: str) -> None:
    assert await both_ways(rows, "t_int") == list(range(1, 1001))
    page = await rows.fetch_page(Relation("public", "t_int"), RowQuery(), limit=3)
    assert page.key_columns == ("id",) and page.keys == ((1,), (2,), (3,))
    assert page.rows[0] == (1, "n00001", 1)


async def test_composite_primary_key(rows: BrowsableRows, url: str) -> None:
    walked = await walk_forward(rows, Relation(None, "t_comp"), limit=23)
    expected = query(url, "SELECT a, b FROM t_comp ORDER BY a, b")
    assert [k for k, _ in walked] == [tuple(r) for r in expected]
    assert await walk_backward(rows, Relation(None, "t_comp"), limit=23) == walked


async def test_text_primary_key_in_its_collation(rows: BrowsableRows, url: str) -> None:
    expected = ordered(url, "SELECT code FROM t_text ORDER BY code")
    assert expected != sorted(expected)  # the collation is not the byte order
    for limit in (1, 5, 37):
        assert await both_ways(rows, "t_text", limit) == expected


async def test_uuid_primary_key_seeks_by_its_text(rows: BrowsableRows, url: str) -> None:
    expected = ordered(url, "SELECT id::text FROM t_uuid ORDER BY id")
    assert await both_ways(rows, "t_uuid", 17) == expected


async def test_timestamp_in_a_composite_key(rows: BrowsableRows, url: str) -> None:
    walked = await walk_forward(rows, Relation(None, "t_ts"), limit=9)
    assert [r[2] for _, r in walked] == ordered(url, "SELECT n FROM t_ts ORDER BY at, kind")


async def test_a_real_key_reads_back_exactly(rows: BrowsableRows) -> None:
    # 0.1 as a real is not 0.1 as a double: the key goes back as text, read as a real.
    expected = [pytest.approx(g / 10, rel=1e-6) for g in range(1, 121)]
    assert await both_ways(rows, "t_real", 7) == expected


async def test_no_primary_key_pages_by_ctid(rows: BrowsableRows, url: str) -> None:
    walked = await walk_forward(rows, Relation(None, "heap"), limit=41)
    expected = ordered(url, "SELECT ctid::text AS t FROM heap ORDER BY ctid")
    assert [k[0] for k, _ in walked] == expected
    assert sorted(firsts(walked)) == [a for a in range(1, 2001) if a % 7]
    assert await walk_backward(rows, Relation(None, "heap"), limit=41) == walked
    page = await rows.fetch_page(Relation(None, "heap"), RowQuery(), limit=1)
    assert page.key_columns == ("ctid",) and page.keys == (("(0,1)",),)


async def test_ctid_windows_widen_until_a_filtered_page_is_full(
    rows: BrowsableRows, url: str
) -> None:
    query = RowQuery(filters=(Filter("b", "equals", "moved"),))
    walked = await walk_forward(rows, Relation(None, "heap"), query, limit=4)
    expected = query_rows(url, "SELECT ctid::text AS t FROM heap WHERE b = 'moved' ORDER BY ctid")
    assert [k[0] for k, _ in walked] == expected and len(expected) > 100
    assert await walk_backward(rows, Relation(None, "heap"), query, limit=4) == walked


async def test_an_empty_table(rows: BrowsableRows) -> None:
    assert await both_ways(rows, "empty_heap") == []


async def test_partitioned_without_a_key_pages_by_tableoid_and_ctid(
    rows: BrowsableRows, url: str
) -> None:
    walked = await walk_forward(rows, Relation(None, "parts"), limit=29)
    expected = query(
        url, "SELECT tableoid::int8 AS o, ctid::text AS t, a FROM parts ORDER BY tableoid, ctid"
    )
    assert [(*k, r[0]) for k, r in walked] == [tuple(e) for e in expected]
    assert sorted(firsts(walked)) == list(range(1000))
    assert await walk_backward(rows, Relation(None, "parts"), limit=29) == walked
    page = await rows.fetch_page(Relation(None, "parts"), RowQuery(), limit=1)
    assert page.key_columns == ("tableoid", "ctid")


async def test_partitioned_with_a_primary_key(rows: BrowsableRows) -> None:
    assert await both_ways(rows, "parts_pk", 61) == list(range(1000))


async def test_a_view_pages_by_offset(rows: BrowsableRows, url: str) -> None:
    walked = await walk_forward(rows, Relation(None, "v"), limit=30)
    assert sorted(firsts(walked)) == ordered(url, "SELECT id FROM v ORDER BY id")
    assert [k for k, _ in walked] == [(i,) for i in range(len(walked))]
    assert await walk_backward(rows, Relation(None, "v"), limit=30) == walked
    page = await rows.fetch_page(Relation(None, "v"), RowQuery(), offset=5, limit=2)
    assert page.key_columns == ("offset",) and page.keys == ((5,), (6,))


async def test_a_materialized_view_pages_by_ctid(rows: BrowsableRows, url: str) -> None:
    assert await both_ways(rows, "mv", 33) == ordered(url, "SELECT id FROM mv ORDER BY ctid")
    page = await rows.fetch_page(Relation(None, "mv"), RowQuery(), limit=1)
    assert page.key_columns == ("ctid",)


async def test_at_a_key_includes_it_and_before_stops_short_of_it(rows: BrowsableRows) -> None:
    relation = Relation(None, "t_comp")
    at = await rows.fetch_page(relation, RowQuery(), at=("k3", 53), limit=2)
    assert at.keys == (("k3", 53), ("k3", 63))
    before = await rows.fetch_page(relation, RowQuery(), before=("k3", 53), limit=2)
    assert before.keys == (("k3", 33), ("k3", 43))


async def test_an_offset_reads_rows_that_far_in(rows: BrowsableRows) -> None:
    for name in ("t_int", "heap", "v"):
        page = await rows.fetch_page(Relation(None, name), RowQuery(), offset=10, limit=3)
        whole = await rows.fetch_page(Relation(None, name), RowQuery(), limit=13)
        assert page.rows == whole.rows[10:13]


async def test_the_older_fetch_rows(rows: BrowsableRows) -> None:
    page = await rows.fetch_rows("t_int", limit=2)
    assert page.keys == ((1,), (2,))
    page = await rows.fetch_rows("t_int", after=(2,), limit=2)
    assert page.keys == ((3,), (4,))
    page = await rows.fetch_rows("t_int", before=(), limit=2)
    assert page.keys == ((999,), (1000,))
    assert (await rows.row_count("t_int")).value == 1000


async def test_a_missing_relation_or_schema(rows: BrowsableRows) -> None:
    with pytest.raises(QueryError, match="no such table or view: missing"):
        await rows.fetch_page(Relation(None, "missing"), RowQuery())
    with pytest.raises(QueryError, match=r"no such table or view: other\.t_int"):
        await rows.fetch_page(Relation("other", "t_int"), RowQuery())
    with pytest.raises(QueryError, match="has no column 'nope'"):
        await rows.fetch_page(Relation(None, "t_int"), RowQuery(sort_column="nope"))


async def test_a_dropped_column_is_read_afresh(rows: BrowsableRows, url: str) -> None:
    run_sql(url, "CREATE TABLE changing (id int PRIMARY KEY, gone text, kept text)")
    run_sql(url, "INSERT INTO changing VALUES (1, 'g', 'k')")
    relation = Relation(None, "changing")
    assert (await rows.fetch_page(relation, RowQuery())).columns == ("id", "gone", "kept")
    run_sql(url, "ALTER TABLE changing DROP COLUMN gone")
    with pytest.raises(QueryError, match="gone"):
        await rows.fetch_page(relation, RowQuery())
    page = await rows.fetch_page(relation, RowQuery())
    assert page.columns == ("id", "kept") and page.rows == ((1, "k"),)
