"""PostgreSQL rows under a filter and a sort, as values the Data pane shows, cut or whole.

Every expectation is either the server's own answer to the equivalent query or a literal
value PostgreSQL documents; the rows are read through `PostgresRows` only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pg_rows_kit import BrowsableRows, firsts, open_rows, walk_backward, walk_forward
from pgkit import fresh_database, run_sql
from pgkit import query as server_query

from dbinspect.browse.protocol import Relation
from dbinspect.errors import QueryError
from dbinspect.models import Filter, RowQuery

SETUP = r"""
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE f (
  id int PRIMARY KEY, name text, n int, amount numeric(8, 2), note text, at timestamptz,
  u uuid, flag bool, doc json, docb jsonb, m mood
);
INSERT INTO f VALUES
  (1, 'Alice', 5, 1.50, NULL, '2026-01-01 10:00+00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   true, '{"a": 1}', '{"a": 1}', 'ok'),
  (2, 'ALICE', 7, 2.00, 'x', '2026-01-02 10:00+00', NULL, false, '[1, 2]', '[1, 2]', 'sad'),
  (3, 'alice', 9, NULL, 'y', NULL, NULL, NULL, NULL, NULL, 'happy'),
  (4, 'Bob', 11, 100.25, 'a\b', '2026-01-03 10:00+00', NULL, true, '"s"', '"s"', NULL),
  (5, 'bobby', NULL, 0.10, 'a_b', '2026-01-04 10:00+00', NULL, false, '{}', '{}', 'ok'),
  (6, 'Ångström', 3, 3.00, '100%', '2026-01-05 10:00+00', NULL, true, 'null', 'null', 'ok');

-- Ties and NULLs to sort on, with and without a primary key, and in a view.
CREATE TABLE ties (id int PRIMARY KEY, grp int, label text);
INSERT INTO ties SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE g % 4 END,
  CASE WHEN g % 3 = 0 THEN NULL ELSE 'L' || (g % 7) END FROM generate_series(1, 400) g;
CREATE TABLE ties_heap AS SELECT * FROM ties;
CREATE VIEW ties_view AS SELECT * FROM ties;

CREATE TABLE kinds (
  id int PRIMARY KEY, b bool, n numeric(30, 10), j json, jb jsonb, arr int[], tarr text[],
  by bytea, ts timestamptz, d date, u uuid, ip inet, iv interval, r real, f float8,
  big bigint, small smallint, e mood, pt point, ch char(5), vc varchar(10)
);
INSERT INTO kinds VALUES (1, true, 12345678901234567890.0123456789,
  '{"b": [1, 2],  "a": null}', '{"b": [1, 2],  "a": null}', '{1,2,3}', '{"a b","c\"d",NULL}',
  '\x00ff10', '2026-03-04 05:06:07.5+00', '2026-03-04', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
  '10.1.2.3/8', '1 day 02:03:04', 0.1, 0.1, 9007199254740993, -3, 'happy', '(1.5,2)', 'ab', 'vc');
INSERT INTO kinds (id) VALUES (2);

CREATE TABLE long (id int PRIMARY KEY, t text, bin bytea, doc jsonb, arr int[], n int);
INSERT INTO long VALUES (1, repeat('é', 1000), decode(repeat('ab', 700), 'hex'),
  jsonb_build_object('k', repeat('x', 500)), (SELECT array_agg(g) FROM generate_series(1, 300) g),
  7), (2, 'short', '\x01', '{}', '{}', 8);
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


async def ids_where(rows: BrowsableRows, *filters: Filter) -> list[Any]:
    page = await rows.fetch_page(Relation(None, "f"), RowQuery(filters=filters), limit=100)
    return [row[0] for row in page.rows]


@pytest.mark.parametrize(
    ("found", "want"),
    [
        (Filter("name", "equals", "Alice"), [1]),
        (Filter("name", "equals", "alice", case_sensitive=False), [1, 2, 3]),
        (Filter("name", "not equals", "alice", case_sensitive=False), [4, 5, 6]),
        (Filter("name", "equals", "ångström", case_sensitive=False), [6]),
        (Filter("name", "like", "A%"), [1, 2]),
        (Filter("name", "like", "a%", case_sensitive=False), [1, 2, 3]),
        (Filter("name", "like", "_ob%"), [4, 5]),
        (Filter("note", "like", "a\\b"), [4]),  # a backslash is no escape
        (Filter("note", "like", "a_b"), [4, 5]),
        (Filter("note", "like", "100%"), [6]),
        (Filter("note", "is null"), [1]),
        (Filter("note", "is not null"), [2, 3, 4, 5, 6]),
        (Filter("n", "<", "7"), [1, 6]),
        (Filter("n", "<=", 7), [1, 2, 6]),
        (Filter("n", ">", "9"), [4]),
        (Filter("n", ">=", "9"), [3, 4]),
        (Filter("n", "equals", "9", case_sensitive=False), [3]),
        (Filter("n", "equals", "nine", case_sensitive=False), []),
        (Filter("n", "not equals", "nine", case_sensitive=False), [1, 2, 3, 4, 6]),
        (Filter("n", "<", "7.5"), [1, 2, 6]),
        (Filter("amount", "equals", "1.5"), [1]),
        (Filter("amount", ">", "2"), [4, 6]),
        (Filter("at", ">=", "2026-01-03"), [4, 5, 6]),
        (Filter("u", "equals", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", case_sensitive=False), [1]),
        (Filter("flag", "equals", "true"), [1, 4, 6]),
        (Filter("doc", "equals", "[1, 2]"), [2]),
        (Filter("docb", "equals", '{"a":1}'), [1]),
        (Filter("m", "equals", "OK", case_sensitive=False), [1, 5, 6]),
        (Filter("m", ">", "sad"), [1, 3, 5, 6]),  # enum order, not text order
    ],
)
async def test_one_filter(rows: BrowsableRows, found: Filter, want: list[int]) -> None:
    assert await ids_where(rows, found) == want


async def test_filters_combine(rows: BrowsableRows) -> None:
    found = await ids_where(
        rows,
        Filter("name", "like", "%a%", case_sensitive=False),
        Filter("n", ">", "4"),
        Filter("note", "is not null"),
    )
    assert found == [2, 3]


async def test_a_value_that_does_not_read_says_why(rows: BrowsableRows) -> None:
    with pytest.raises(QueryError, match="invalid input syntax for type integer"):
        await ids_where(rows, Filter("n", "<", "seven"))
    with pytest.raises(QueryError, match="has no column 'missing'"):
        await ids_where(rows, Filter("missing", "equals", "1"))


async def test_a_filtered_count(rows: BrowsableRows) -> None:
    query = RowQuery(filters=(Filter("name", "like", "%b%", case_sensitive=False),))
    steps = [step async for step in rows.count_stepwise(Relation(None, "f"), query)]
    assert steps[-1] == (2, 1.0)


SORTS = [
    ("grp", False, "grp ASC, id ASC"),
    ("grp", True, "grp DESC, id DESC"),
    ("label", False, "label ASC, id ASC"),
    ("label", True, "label DESC, id DESC"),
]


@pytest.mark.parametrize(("sort", "descending", "order"), SORTS)
async def test_a_sort_with_ties_and_nulls(
    rows: BrowsableRows, url: str, sort: str, descending: bool, order: str
) -> None:
    query = RowQuery(sort_column=sort, descending=descending)
    for limit in (7, 50):
        walked = await walk_forward(rows, Relation(None, "ties"), query, limit)
        expected = query_rows(url, f"SELECT id FROM ties ORDER BY {order}")
        assert firsts(walked) == [r[0] for r in expected]
        assert await walk_backward(rows, Relation(None, "ties"), query, limit) == walked
        assert walked[0][0][1:] == (walked[0][1][0],)  # key: sort value, then the id


@pytest.mark.parametrize(("sort", "descending", "order"), SORTS)
async def test_a_sort_without_a_primary_key(
    rows: BrowsableRows, url: str, sort: str, descending: bool, order: str
) -> None:
    query = RowQuery(sort_column=sort, descending=descending)
    walked = await walk_forward(rows, Relation(None, "ties_heap"), query, 9)
    ctid_order = order.replace("id", "ctid")
    expected = query_rows(url, f"SELECT id FROM ties_heap ORDER BY {ctid_order}")
    assert firsts(walked) == [r[0] for r in expected]
    assert await walk_backward(rows, Relation(None, "ties_heap"), query, 9) == walked


async def test_a_sorted_view(rows: BrowsableRows, url: str) -> None:
    query = RowQuery(sort_column="grp", descending=True)
    walked = await walk_forward(rows, Relation(None, "ties_view"), query, 30)
    groups = [row[1] for _, row in walked]
    assert groups == [r[0] for r in query_rows(url, "SELECT grp FROM ties ORDER BY grp DESC")]
    assert sorted(firsts(walked)) == list(range(1, 401))


async def test_types_without_an_order_sort_and_filter_by_their_text(rows: BrowsableRows) -> None:
    # pg_catalog's views hold such types (xid, aclitem, ...): browsing them must work too.
    relation = Relation("pg_catalog", "pg_class")
    for name in ("relfrozenxid", "relacl"):
        page = await rows.fetch_page(relation, RowQuery(sort_column=name), limit=3)
        after = await rows.fetch_page(relation, RowQuery(sort_column=name), after=page.keys[-1])
        assert after.rows and after.keys[0] != page.keys[-1]
    found = Filter("relfrozenxid", "equals", "0")
    page = await rows.fetch_page(relation, RowQuery(filters=(found,)), limit=500)
    assert page.rows and all(row[page.columns.index("relfrozenxid")] == "0" for row in page.rows)


async def test_a_composite_column_sorts_and_filters_by_its_type(
    rows: BrowsableRows, url: str
) -> None:
    # An untyped parameter beside a composite value is read as an anonymous record,
    # which the server cannot take: the parameter is cast to the column's type.
    run_sql(
        url,
        'CREATE TYPE "ad%dr" AS (street text, no int);'
        'CREATE TABLE comp (id int PRIMARY KEY, ad "ad%dr");'
        "INSERT INTO comp SELECT i, ROW('st' || (i % 7), i % 3)::\"ad%dr\" "
        "FROM generate_series(1, 40) i",
    )
    for descending in (False, True):
        query = RowQuery(sort_column="ad", descending=descending)
        walked = await walk_forward(rows, Relation(None, "comp"), query, 7)
        direction = "DESC" if descending else "ASC"
        expected = query_rows(url, f"SELECT id FROM comp ORDER BY ad {direction}, id {direction}")
        assert firsts(walked) == [r[0] for r in expected]
    found = Filter("ad", ">", "(st3,1)", case_sensitive=True)
    page = await rows.fetch_page(Relation(None, "comp"), RowQuery(filters=(found,)), limit=100)
    expected = query_rows(url, "SELECT count(*) FROM comp WHERE ad > '(st3,1)'::\"ad%dr\"")
    assert len(page.rows) == expected[0][0] > 0


async def test_sorting_by_json_goes_by_its_text(rows: BrowsableRows, url: str) -> None:
    walked = await walk_forward(rows, Relation(None, "f"), RowQuery(sort_column="doc"), 2)
    expected = query_rows(url, "SELECT id FROM f ORDER BY doc::text, id")
    assert firsts(walked) == [r[0] for r in expected]
    walked = await walk_forward(rows, Relation(None, "f"), RowQuery(sort_column="docb"), 2)
    assert firsts(walked) == [r[0] for r in query_rows(url, "SELECT id FROM f ORDER BY docb, id")]


def query_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in server_query(url, sql)]


async def test_values_arrive_as_the_data_pane_shows_them(rows: BrowsableRows, url: str) -> None:
    page = await rows.fetch_page(Relation(None, "kinds"), RowQuery())
    got = dict(zip(page.columns, page.rows[0], strict=True))
    assert got["b"] == "true"
    assert got["n"] == "12345678901234567890.0123456789"  # exact
    assert got["j"] == '{"b": [1, 2],  "a": null}'  # json: as stored
    assert got["jb"] == '{"a": null, "b": [1, 2]}'  # jsonb: as the server writes it
    assert got["arr"] == "{1,2,3}" and got["tarr"] == '{"a b","c\\"d",NULL}'
    assert got["by"] == b"\x00\xff\x10"
    assert got["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert got["ip"] == "10.1.2.3/8" and got["iv"] == "1 day 02:03:04"
    assert got["d"] == "2026-03-04" and got["e"] == "happy" and got["pt"] == "(1.5,2)"
    assert got["r"] == pytest.approx(0.1) and isinstance(got["r"], float)
    assert got["f"] == 0.1 and got["big"] == 9007199254740993 and got["small"] == -3
    assert got["ch"] == "ab   " and got["vc"] == "vc"
    texts = query_rows(url, "SELECT ts::text FROM kinds WHERE id = 1")
    assert got["ts"] == texts[0][0]
    assert page.rows[1] == (2, *([None] * (len(page.columns) - 1)))


async def test_keys_of_every_kind_seek_back_to_their_row(rows: BrowsableRows) -> None:
    for name in ("b", "n", "jb", "arr", "by", "ts", "u", "ip", "iv", "r", "e", "ch"):
        query = RowQuery(sort_column=name)
        first = await rows.fetch_page(Relation(None, "kinds"), query, limit=1)
        again = await rows.fetch_page(Relation(None, "kinds"), query, at=first.keys[0], limit=1)
        assert again.rows == first.rows, name
        after = await rows.fetch_page(Relation(None, "kinds"), query, after=first.keys[0])
        assert [r[0] for r in after.rows] == [2], name


async def test_long_cells_are_cut_and_their_lengths_noted(rows: BrowsableRows) -> None:
    page = await rows.fetch_page(Relation(None, "long"), RowQuery(), cell_limit=10)
    first = page.rows[0]
    assert first[1] == "é" * 10 and first[2] == bytes.fromhex("ab" * 10)
    assert first[3] == '{"k": "xxx' and first[4] == "{1,2,3,4,5"
    assert first[5] == 7
    assert page.truncated[0] == ((1, 1000), (2, 700), (3, 509), (4, 1093))
    assert page.truncated[1] == ()
    assert page.rows[1] == (2, "short", b"\x01", "{}", "{}", 8)
    whole = await rows.fetch_page(Relation(None, "long"), RowQuery())
    assert whole.truncated == () and whole.rows[0][1] == "é" * 1000


async def test_one_cell_in_full_or_cut(rows: BrowsableRows) -> None:
    relation = Relation(None, "long")
    cell = await rows.fetch_cell(relation, RowQuery(), (1,), "t", 2000)
    assert cell is not None and cell.value == "é" * 1000 and cell.size == 1000
    assert cell.type == "text"
    cell = await rows.fetch_cell(relation, RowQuery(), (1,), "bin", 4)
    assert cell is not None and cell.value == b"\xab" * 4 and cell.size == 700
    assert cell.type == "bytea"
    cell = await rows.fetch_cell(relation, RowQuery(), (1,), "doc", 5)
    assert cell is not None and cell.value == '{"k":' and cell.type == "jsonb"
    cell = await rows.fetch_cell(relation, RowQuery(), (2,), "n", 5)
    assert cell is not None and (cell.value, cell.size, cell.type) == (8, 0, "integer")
    assert await rows.fetch_cell(relation, RowQuery(), (3,), "n", 5) is None
    sorted_query = RowQuery(sort_column="n", descending=True)
    cell = await rows.fetch_cell(relation, sorted_query, (7, 1), "t", 3)
    assert cell is not None and cell.value == "ééé"


async def test_a_cell_of_a_view_is_the_one_at_its_offset(rows: BrowsableRows) -> None:
    query = RowQuery(sort_column="id", descending=True)
    page = await rows.fetch_page(Relation(None, "ties_view"), query, offset=10, limit=1)
    cell = await rows.fetch_cell(Relation(None, "ties_view"), query, page.keys[0], "label", 10)
    assert cell is not None and cell.value == page.rows[0][2] and page.rows[0][0] == 390


async def test_the_key_of_a_matching_row(rows: BrowsableRows) -> None:
    assert await rows.find_key(Relation(None, "f"), {"name": "Bob"}) == (4,)
    assert await rows.find_key(Relation(None, "f"), {"n": 9, "name": "alice"}) == (3,)
    assert await rows.find_key(Relation(None, "f"), {"name": "nobody"}) is None
    assert await rows.find_key(Relation(None, "ties_view"), {"id": 1}) is None
    heap_key = await rows.find_key(Relation(None, "ties_heap"), {"id": 2})
    assert heap_key is not None and str(heap_key[0]).startswith("(")


# `%s`, `%(x)s` and `%%` in names: psycopg reads them as placeholders in a statement's text.
SCHEMA = 'we"ird sch%s ema'
TABLE = 'ta"ble %(x)s ü 日'
NO_KEY = "no key%%; DROP TABLE x"
VIEW = 'vi"ew%'


def ident(*names: str) -> str:
    return ".".join('"' + name.replace('"', '""') + '"' for name in names)


HOSTILE = f"""
CREATE SCHEMA {ident(SCHEMA)};
CREATE TABLE {ident(SCHEMA, TABLE)} (
  {ident('id "x"')} int PRIMARY KEY, c0 text, k0 text, s0 int, r text, page text,
  "select" text, "ünï %s code" text, {ident("a'b")} text
);
INSERT INTO {ident(SCHEMA, TABLE)}
  SELECT g, 'c' || g, 'k' || g, g % 3, 'r' || g, 'p' || g, 's' || g, 'ü' || g,
    'q' || chr(39) || g
  FROM generate_series(1, 50) g;
CREATE TABLE {ident(SCHEMA, NO_KEY)} (c0 int, r text);
INSERT INTO {ident(SCHEMA, NO_KEY)} SELECT g, 'r' || g FROM generate_series(1, 30) g;
CREATE VIEW {ident(SCHEMA, VIEW)} AS SELECT c0, r FROM {ident(SCHEMA, NO_KEY)};
"""


async def test_hostile_identifiers(rows: BrowsableRows, url: str) -> None:
    run_sql(url, HOSTILE)
    table = Relation(SCHEMA, TABLE)
    filters = (
        Filter("ünï %s code", "like", "Ü1%", case_sensitive=False),
        Filter("a'b", "is not null"),
    )
    query = RowQuery(filters=filters, sort_column="s0", descending=True)
    walked = await walk_forward(rows, table, query, 3)
    assert [row[0] for _, row in walked] == [row[0] for row in sorted(
        ((i, i % 3) for i in [1, *range(10, 20)]), key=lambda r: (r[1], r[0]), reverse=True
    )]  # fmt: skip
    page = await rows.fetch_page(table, RowQuery(), limit=1)
    assert page.columns[0] == 'id "x"' and page.rows[0][1:4] == ("c1", "k1", 1)
    cell = await rows.fetch_cell(table, RowQuery(), (1,), "a'b", 10)
    assert cell is not None and cell.value == "q'1"
    steps = [s async for s in rows.count_stepwise(table, query)]
    assert steps[-1][0] == 11
    assert (await rows.row_estimate(table)).value == 50
    assert await rows.find_key(table, {"select": "s7"}) == (7,)
    for name in (NO_KEY, VIEW):
        by_r = RowQuery(sort_column="r")
        walked = await walk_forward(rows, Relation(SCHEMA, name), by_r, 7)
        assert sorted(firsts(walked)) == list(range(1, 31))
        assert await walk_backward(rows, Relation(SCHEMA, name), by_r, 7) == walked
    assert server_query(url, "SELECT count(*) FROM pg_class WHERE relname = 'x'") == [(0,)]


async def test_statements_never_hold_values(rows: BrowsableRows, url: str) -> None:
    # A value with quotes and a semicolon is a parameter, never SQL.
    hostile = "x'; DROP TABLE f; --"
    assert await ids_where(rows, Filter("name", "equals", hostile)) == []
    assert await ids_where(rows, Filter("name", "like", hostile, case_sensitive=False)) == []
    assert server_query(url, "SELECT count(*) FROM f") == [(6,)]
