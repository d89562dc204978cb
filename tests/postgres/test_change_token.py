"""The change token's two parts: rows written move only `data`; objects changed move `catalog`."""

from __future__ import annotations

from pgkit import run_sql

from dbinspect.backends import open_backend
from dbinspect.models import ChangeToken
from dbinspect.url import parse_url


async def test_a_row_write_moves_the_data_part_only_and_ddl_moves_the_catalog_part(
    pg_url: str,
) -> None:
    run_sql(pg_url, "CREATE TABLE t (id int PRIMARY KEY)")
    backend = await open_backend(parse_url(pg_url))
    try:
        first = await backend.change_token()
        assert isinstance(first, ChangeToken)
        run_sql(pg_url, "INSERT INTO t VALUES (1)")
        after_insert = await backend.change_token()
        assert isinstance(after_insert, ChangeToken)
        assert after_insert.data != first.data
        assert after_insert.catalog == first.catalog
        for ddl in (
            "ALTER TABLE t ADD COLUMN note text",
            "ALTER TABLE t RENAME COLUMN note TO remark",
            "COMMENT ON TABLE t IS 'kept'",
            "CREATE INDEX t_remark ON t (remark)",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
            "DROP TABLE t",
        ):
            before = await backend.change_token()
            run_sql(pg_url, ddl)
            after = await backend.change_token()
            assert isinstance(before, ChangeToken) and isinstance(after, ChangeToken)
            assert after.catalog != before.catalog, ddl
    finally:
        await backend.aclose()
