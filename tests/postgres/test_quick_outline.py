"""The first frame's outline on PostgreSQL: every schema, table and view, by name, at once."""

from __future__ import annotations

from pgkit import run_sql

from dbinspect.backends import open_backend
from dbinspect.models import Schema
from dbinspect.url import parse_url


async def test_the_quick_outline_lists_every_table_and_view_the_full_outline_does(
    pg_url: str,
) -> None:
    run_sql(
        pg_url,
        "CREATE SCHEMA shop; CREATE TABLE shop.item (id int PRIMARY KEY);"
        ' CREATE TABLE "a b" (x int);'
        " CREATE VIEW v AS SELECT 1 AS one; CREATE MATERIALIZED VIEW m AS SELECT 2 AS two;"
        " CREATE TABLE parts (id int) PARTITION BY RANGE (id);"
        " CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (10);"
        " CREATE SEQUENCE s; CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    )
    backend = await open_backend(parse_url(pg_url))
    try:
        quick = await backend.quick_outline()
        assert quick is not None
        full = await backend.outline()
        relations = {"table", "partitioned table", "view", "materialized view"}

        def names(schema: Schema, kinds: set[str]) -> set[tuple[str | None, str, str]]:
            return {(o.schema, o.name, o.kind) for o in schema.objects if o.kind in kinds}

        assert names(quick, relations | {"schema"}) == names(full, relations | {"schema"})
        assert ("shop", "item", "table") in names(quick, relations)
        assert not names(quick, {"sequence", "function", "index"})  # those follow
    finally:
        await backend.aclose()
