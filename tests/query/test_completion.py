"""Tests editor completion: context rules, quoting of hostile names, and big schemas."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dbinspect.backends import open_backend
from dbinspect.models import ColumnInfo, Schema, SchemaObject
from dbinspect.query.completion import (
    MAX_CANDIDATES,
    POSTGRES_KEYWORDS,
    SQLITE_KEYWORDS,
    Candidate,
    RelationNames,
    SchemaNames,
    complete,
    quote_name,
)
from dbinspect.url import parse_url

HOSTILE = ['it"s', "two words", "new\nline", "ünïcødé", "Mixed", "select", "a.b", "1st", "[x]"]


def texts(candidates: list[Candidate]) -> list[str]:
    return [candidate.text for candidate in candidates]


def relations(candidates: list[Candidate]) -> list[str]:
    return [c.text for c in candidates if c.kind in ("table", "view")]


def _column(name: str) -> ColumnInfo:
    return ColumnInfo(name, "text", False, None, 0, 0)


def _relation(
    name: str, columns: list[str], kind: str = "table", schema: str | None = None
) -> SchemaObject:
    return SchemaObject(
        kind,  # type: ignore[arg-type]
        name,
        name,
        None,
        columns=tuple(_column(c) for c in columns),
        schema=schema,
    )


SHOP = SchemaNames.from_schema(
    Schema(
        (
            _relation("customers", ["id", "Name", "email"]),
            _relation("invoices", ["id", "customer_id", "total"]),
            _relation("invoice_lines", ["invoice_id", "quantity"]),
            _relation("big spenders", ["name", "sum"], kind="view"),
            SchemaObject("index", "customers_email", "customers", None),
            SchemaObject("table", "sqlite_stat1", "sqlite_stat1", None, internal=True),
        )
    )
)


def test_from_schema_keeps_tables_and_views_only() -> None:
    assert [(r.name, r.kind) for r in SHOP.relations] == [
        ("customers", "table"),
        ("invoices", "table"),
        ("invoice_lines", "table"),
        ("big spenders", "view"),
    ]
    assert SHOP.relations[0].columns == ("id", "Name", "email")


def test_after_from_relations_come_first() -> None:
    found = complete("select * from ", SHOP, "sqlite")
    assert texts(found)[:4] == ['"big spenders"', "customers", "invoice_lines", "invoices"]
    assert [c.kind for c in found[:4]] == ["view", "table", "table", "table"]
    assert found[4].kind == "keyword"
    assert texts(complete("select * from INV", SHOP, "sqlite")) == ["invoice_lines", "invoices"]
    assert complete("select * from INV", SHOP, "sqlite")[0].replace_length == 3
    assert texts(complete("select * from customers c join inv", SHOP, "sqlite")) == [
        "invoice_lines",
        "invoices",
    ]
    assert texts(complete("insert into cu", SHOP, "sqlite"))[:2] == ["customers", "current"]
    assert texts(complete("UPDATE CU", SHOP, "sqlite")) == [
        "customers",
        "CURRENT",
        "CURRENT_DATE",
        "CURRENT_TIME",
        "CURRENT_TIMESTAMP",
    ]


def test_a_comma_in_a_from_list_expects_a_relation_but_not_in_a_select_list() -> None:
    assert texts(complete("select * from customers c, inv", SHOP, "sqlite"))[0] == "invoice_lines"
    in_select = complete("select id, cu", SHOP, "sqlite", text_after_cursor=" from invoices")
    assert [c.kind for c in in_select] == ["column", *["keyword"] * 4, "table"]
    assert in_select[0].text == "customer_id"
    in_call = complete("select * from customers where id in (1, cu", SHOP, "sqlite")
    assert in_call[0].kind != "table"


def test_elsewhere_the_mentioned_relations_columns_come_first() -> None:
    found = complete("select ", SHOP, "sqlite", text_after_cursor=" from customers")
    assert texts(found)[:3] == ["email", "id", "Name"]
    assert found[3].kind == "keyword"
    found = complete("select * from customers c join invoices i on ", SHOP, "sqlite")
    assert texts(found)[:5] == ["customer_id", "email", "id", "Name", "total"]
    assert texts(complete("select * from customers where na", SHOP, "sqlite")) == [
        "Name",
        "natural",
    ]


def test_a_qualifier_offers_that_relations_columns() -> None:
    assert texts(complete("select customers.", SHOP, "sqlite")) == ["email", "id", "Name"]
    assert texts(complete("select CUSTOMERS.e", SHOP, "sqlite")) == ["email"]
    assert complete("select customers.e", SHOP, "sqlite")[0].replace_length == 1
    alias = complete("select i.t", SHOP, "sqlite", text_after_cursor=" from invoices i")
    assert texts(alias) == ["total"]
    with_as = "select * from customers as c join invoices AS inv on inv."
    assert texts(complete(with_as, SHOP, "sqlite")) == ["customer_id", "id", "total"]
    assert texts(complete('select * from "big spenders" b where b.', SHOP, "sqlite")) == [
        "name",
        "sum",
    ]
    assert texts(complete("select main.customers.i", SHOP, "sqlite")) == ["id"]
    assert complete("select nobody.", SHOP, "sqlite") == []


def test_aliases_belong_to_their_own_statement() -> None:
    text = "select * from invoices c; select c."
    assert complete(text, SHOP, "sqlite") == []
    assert texts(complete("select * from invoices c where c.", SHOP, "sqlite"))[0] == "customer_id"
    text = "select * from invoices x; select x."
    assert complete(text, SHOP, "sqlite") == []
    after = complete("select x.", SHOP, "sqlite", text_after_cursor=" from invoices x; from x")
    assert texts(after) == ["customer_id", "id", "total"]


def test_nothing_inside_strings_comments_or_numbers() -> None:
    assert complete("select 'cu", SHOP, "sqlite") == []
    assert complete("select 'it''s cu", SHOP, "sqlite") == []
    assert complete("select * from cu", SHOP, "sqlite", text_after_cursor="") != []
    assert complete("select 'a", SHOP, "sqlite", text_after_cursor="b' from x") == []
    assert complete("select -- from cu", SHOP, "sqlite") == []
    assert complete("select /* from cu", SHOP, "sqlite") == []
    assert complete("select 12", SHOP, "sqlite") == []
    assert relations(complete("select /* c */ * from /* t */ cu", SHOP, "sqlite")) == ["customers"]
    assert relations(complete("select 'it''s' from cu", SHOP, "sqlite")) == ["customers"]
    assert complete("select $$ from cu", SHOP, "postgres") == []
    assert complete("select E'\\' from cu", SHOP, "postgres") == []
    assert relations(complete("select $t$ x $t$ from cu", SHOP, "postgres")) == ["customers"]
    assert complete('select "customers"', SHOP, "sqlite") == []  # a finished quoted name


def test_keywords_follow_the_typed_case_and_the_dialect() -> None:
    assert texts(complete("sel", SHOP, "sqlite")) == ["select"]
    assert texts(complete("SEL", SHOP, "sqlite")) == ["SELECT"]
    assert texts(complete("Sel", SHOP, "sqlite")) == ["SELECT"]
    assert "LATERAL" in texts(complete("select * from LAT", SHOP, "postgres"))
    assert "LATERAL" not in texts(complete("select * from LAT", SHOP, "sqlite"))
    assert "PRAGMA" in texts(complete("PRAG", SHOP, "sqlite"))
    assert len(SQLITE_KEYWORDS) == 147
    assert {"SELECT", "LATERAL", "ILIKE", "NAME"} <= POSTGRES_KEYWORDS


def test_a_partly_typed_quoted_name_is_completed() -> None:
    found = complete('select * from "big', SHOP, "sqlite")
    assert texts(found) == ['"big spenders"']
    assert found[0].replace_length == 4
    found = complete("select * from [big", SHOP, "sqlite")
    assert texts(found) == ['"big spenders"'] and found[0].replace_length == 4
    found = complete('select * from "big', SHOP, "sqlite", text_after_cursor=" where x")
    assert texts(found) == ['"big spenders"']
    assert complete("select * from customers where e", SHOP, "sqlite")[0].text == "email"


def test_limit_and_dialect() -> None:
    assert len(complete("select ", SHOP, "sqlite")) == MAX_CANDIDATES
    assert len(complete("select ", SHOP, "sqlite", limit=3)) == 3
    assert complete("select ", SHOP, "sqlite", limit=0) == []
    assert complete("", SHOP, "postgresql", limit=1)[0].kind == "keyword"
    with pytest.raises(ValueError, match="unknown SQL dialect"):
        complete("select ", SHOP, "mysql")


def test_quoting_follows_each_dialect() -> None:
    assert quote_name("name", "sqlite") == "name"
    assert quote_name("Name", "sqlite") == "Name"
    assert quote_name("order", "sqlite") == '"order"'
    assert quote_name('it"s', "sqlite") == '"it""s"'
    assert quote_name("Name", "postgres") == '"Name"'
    assert quote_name("name", "postgres") == "name"  # an unreserved keyword
    assert quote_name("user", "postgres") == '"user"'
    assert quote_name("between", "postgres") == '"between"'  # a column-name keyword
    assert quote_name("a$b", "postgres") == '"a$b"'


POSTGRES_SHOP = SchemaNames(
    (
        RelationNames("orders", "table", "public", ("id", "Total", "user")),
        RelationNames("orders", "table", "Archive", ("id", "old")),
        RelationNames("lines", "view", "sales", ("qty",)),
    )
)


def test_postgres_relations_are_offered_bare_in_public_and_qualified_elsewhere() -> None:
    everything = complete("select * from ", POSTGRES_SHOP, "postgres")
    assert texts(everything)[:4] == ['"Archive".orders', "sales.lines", "orders", "public.orders"]
    assert [c.kind for c in everything[:4]] == ["table", "view", "table", "table"]
    found = texts(complete("select * from li", POSTGRES_SHOP, "postgres"))
    assert found[0] == "sales.lines"
    found = texts(complete("select * from ord", POSTGRES_SHOP, "postgres"))
    assert found[:2] == ['"Archive".orders', "orders"]
    assert texts(complete("select * from sales.", POSTGRES_SHOP, "postgres")) == ["lines"]
    assert texts(complete('select * from "Archive".', POSTGRES_SHOP, "postgres")) == ["orders"]
    assert texts(complete("select * from pub", POSTGRES_SHOP, "postgres"))[0] == "public.orders"


def test_postgres_names_resolve_by_schema_and_by_public() -> None:
    text = 'select o. from "Archive".orders o'
    cursor = len("select o.")
    assert texts(
        complete(text[:cursor], POSTGRES_SHOP, "postgres", text_after_cursor=text[cursor:])
    ) == ["id", "old"]
    assert texts(complete("select * from orders o where o.", POSTGRES_SHOP, "postgres")) == [
        "id",
        '"Total"',
        '"user"',
    ]
    assert texts(complete("select public.orders.t", POSTGRES_SHOP, "postgres")) == ['"Total"']
    assert texts(
        complete("select * from sales.lines l, orders where l.", POSTGRES_SHOP, "postgres")
    ) == ["qty"]


def _names_for(count: int, columns: int) -> SchemaNames:
    return SchemaNames.from_schema(
        Schema(
            tuple(
                _relation(f"table_{n:04d}", [f"col_{n:04d}_{c}" for c in range(columns)])
                for n in range(count)
            )
        )
    )


def test_a_schema_of_two_thousand_tables_answers_every_keystroke() -> None:
    names = _names_for(2000, 10)
    for n in range(0, 2000, 7):
        prefix = f"table_{n:04d}"
        found = complete(f"select * from {prefix[:-1]}", names, "sqlite")
        assert texts(found)[0] == f"table_{n - n % 10:04d}"
        assert prefix in texts(found)
        columns = complete(f"select * from {prefix} t where t.col", names, "sqlite")
        assert texts(columns) == [f"col_{n:04d}_{c}" for c in range(10)]
        joined = complete(
            f"select  from {prefix} a join table_0001 b on a.col_{n:04d}_0 = b.",
            names,
            "postgres",
        )
        assert texts(joined) == [f"col_0001_{c}" for c in range(10)]
    everything = complete("select * from ", names, "sqlite")
    assert len(everything) == MAX_CANDIDATES
    assert texts(everything)[:2] == ["table_0000", "table_0001"]


def _hostile_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for table in HOSTILE:
            columns = ", ".join(quote_name(c, "sqlite") for c in HOSTILE)
            conn.execute(f"create table {quote_name(table, 'sqlite')} ({columns})")
    conn.close()


async def test_hostile_sqlite_names_are_offered_as_sqlite_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "hostile.db"
    _hostile_sqlite(path)
    backend = await open_backend(parse_url(str(path)))
    try:
        names = SchemaNames.from_schema(await backend.schema())
    finally:
        await backend.aclose()
    tables = complete("select * from ", names, "sqlite")
    assert sorted(texts(tables)[: len(HOSTILE)]) == sorted(quote_name(t, "sqlite") for t in HOSTILE)
    with sqlite3.connect(path) as conn:
        for table in tables[: len(HOSTILE)]:
            assert complete("select * from t where t.", names, "sqlite") == []  # no table t
            found = complete(
                "select x.", names, "sqlite", text_after_cursor=f" from {table.text} x"
            )
            assert len(found) == len(HOSTILE)
            listing = ", ".join(f"x.{c.text}" for c in found)
            described = conn.execute(f"select {listing} from {table.text} x").description
            assert sorted(d[0] for d in described) == sorted(HOSTILE)
    conn.close()
    unicode = complete("select * from ÜNÏ", names, "sqlite")
    assert texts(unicode) == ['"ünïcødé"']
    newline = complete('select * from "new', names, "sqlite")
    assert texts(newline) == ['"new\nline"']


async def test_hostile_postgres_names_are_quoted_as_quote_ident_does(pg_url: str) -> None:
    from pgkit import query, run_sql

    schema_name = 'Sales "EU"'
    statements = [f"create schema {quote_name(schema_name, 'postgres')}"]
    for table in HOSTILE:
        columns = ", ".join(f"{quote_name(c, 'postgres')} text" for c in HOSTILE)
        statements.append(f"create table {quote_name(table, 'postgres')} ({columns})")
    statements.append(
        f"create view {quote_name(schema_name, 'postgres')}.{quote_name('user', 'postgres')}"
        " as select 1 as one"
    )
    run_sql(pg_url, ";\n".join(statements))
    backend = await open_backend(parse_url(pg_url))
    try:
        names = SchemaNames.from_schema(await backend.schema())
    finally:
        await backend.aclose()
    expected = query(pg_url, "select quote_ident(n) from unnest(%s::text[]) n", (HOSTILE,))
    for (quoted,), name in zip(expected, HOSTILE, strict=True):
        assert quote_name(name, "postgres") == quoted
    tables = texts(complete("select * from ", names, "postgres", limit=200))
    assert {str(q) for (q,) in expected} <= set(tables)
    assert '"Sales ""EU"""."user"' in tables
    for table in HOSTILE:
        quoted = quote_name(table, "postgres")
        found = complete("select x.", names, "postgres", text_after_cursor=f" from {quoted} x")
        listing = ", ".join(f"x.{c.text}" for c in found)
        rows = query(pg_url, f"select {listing} from {quoted} x where false")
        assert rows == []
        assert len(found) == len(HOSTILE)
    view = complete('select * from "Sales ""EU""".us', names, "postgres")
    assert texts(view) == ['"user"']


TRICKY = (
    "select 'it''s from cu' , \"big spenders\".name /* from cu */ from cu;\n"
    "select $q$ from $x$ cu $q$, E'\\' from cu', [big spenders] -- from cu\n"
    "from customers c where c.e = 1e+ 3; update invoices set total = 1 where cu"
)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_lexing_again_only_what_changed_gives_what_lexing_it_all_gives(dialect: str) -> None:
    def fresh(before: str, after: str = "") -> list[Candidate]:
        return complete(before, SchemaNames(SHOP.relations), dialect, text_after_cursor=after)

    typed = SchemaNames(SHOP.relations)
    for end in [*range(len(TRICKY) + 1), *range(len(TRICKY), 0, -3)]:  # typing, then erasing
        before = TRICKY[:end]
        assert complete(before, typed, dialect) == fresh(before), before
    for cursor in range(0, len(TRICKY), 5):  # the cursor moving through the text
        before, after = TRICKY[:cursor], TRICKY[cursor:]
        found = complete(before, typed, dialect, text_after_cursor=after)
        assert found == fresh(before, after), before
    for cursor in range(len(TRICKY) - 1, 0, -11):  # a quote typed in the middle
        before, after = TRICKY[:cursor] + "'", TRICKY[cursor:]
        found = complete(before, typed, dialect, text_after_cursor=after)
        assert found == fresh(before, after), before
