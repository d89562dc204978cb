"""`schema --format json` on PostgreSQL: the tables a table inherits from, row-level
security and its policies, the index a partition's index is attached to, and a
materialized view left unpopulated."""

from __future__ import annotations

import json
from typing import Any

from pgkit import run_sql
from testkit import RunCli

SETUP = """
CREATE SCHEMA "b.c";
CREATE TABLE a (id int);
CREATE TABLE "b.c".b (w int);
CREATE TABLE kid (x int) INHERITS ("b.c".b, a);
CREATE TABLE secret (id int, owner text);
ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
ALTER TABLE secret FORCE ROW LEVEL SECURITY;
CREATE POLICY "z last" ON secret FOR SELECT TO pg_monitor, pg_read_all_data
    USING (owner = current_user);
CREATE POLICY a_first ON secret AS RESTRICTIVE FOR INSERT WITH CHECK (id > 0);
CREATE TABLE part (k int) PARTITION BY RANGE (k);
CREATE TABLE part_1 PARTITION OF part FOR VALUES FROM (0) TO (10);
CREATE INDEX part_k ON part (k);
CREATE MATERIALIZED VIEW empty_mv AS SELECT 1 AS one WITH NO DATA;
"""


def test_schema_json_carries_inheritance_security_and_attachments(
    pg_url: str, run_cli: RunCli
) -> None:
    run_sql(pg_url, SETUP)
    first = run_cli("schema", pg_url, "--format", "json")
    assert first.returncode == 0, first.stderr
    assert run_cli("schema", pg_url, "--format", "json").stdout == first.stdout
    document: dict[str, Any] = json.loads(first.stdout)
    tables = {t["name"]: t for t in document["tables"]}
    assert tables["kid"]["inherits"] == [  # in INHERITS order, not sorted
        {"schema": "b.c", "table": "b"},
        {"schema": "public", "table": "a"},
    ]
    assert tables["a"]["inherits"] == [] and tables["part_1"]["inherits"] == []
    secret = tables["secret"]
    assert (secret["row_security"], secret["force_row_security"]) == (True, True)
    assert "row_security" not in tables["a"]  # only where it is on, as `unlogged`
    assert secret["policies"] == [
        {"name": "a_first", "command": "INSERT", "permissive": False, "roles": ["public"],
         "using": None, "with_check": "(id > 0)"},
        {"name": "z last", "command": "SELECT", "permissive": True,
         "roles": ["pg_monitor", "pg_read_all_data"], "using": "(owner = CURRENT_USER)",
         "with_check": None},
    ]  # fmt: skip
    indexes = {i["name"]: i["partition_of"] for i in document["indexes"]}
    assert indexes == {"part_1_k_idx": {"schema": "public", "name": "part_k"}, "part_k": None}
    views = {v["name"]: v for v in document["materialized_views"]}
    assert views["empty_mv"]["populated"] is False
