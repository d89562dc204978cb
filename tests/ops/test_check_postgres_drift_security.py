"""`dbinspect check` drift on PostgreSQL: row-level security, policies and inheritance
changed by hand are drift; a materialized view refreshed since its migration is not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pgkit import run_sql
from testkit import RunCli

from dbinspect.migrate.runner import run_migrations
from dbinspect.url import parse_url

MIGRATION = """
CREATE TABLE items (id int PRIMARY KEY, name text);
CREATE TABLE parent (id int);
CREATE TABLE child (id int, extra int);
CREATE MATERIALIZED VIEW item_names AS SELECT name FROM items WITH NO DATA;
"""


def drift(run_cli: RunCli, url: str, folder: Path) -> dict[str, list[str]]:
    """Each object that drifted, by `<change> <kind> <name>`, with the fields changed."""
    result = run_cli("check", url, "--source", folder, "--json")
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["drift_error"] is None, report
    found = {}
    for d in report["drift"]:
        expected, actual = d["expected"] or {}, d["actual"] or {}
        keys = [k for k in {**expected, **actual} if expected.get(k) != actual.get(k)]
        found[f"{d['change']} {d['kind']} {d['name']}"] = keys
    return found


def test_security_and_inheritance_made_by_hand_are_drift(
    pg_url: str, tmp_path: Path, run_cli: RunCli
) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_init.sql").write_text(MIGRATION)
    run_migrations(parse_url(pg_url), folder)
    # Refreshed at run time: its data, not its definition.
    run_sql(pg_url, "REFRESH MATERIALIZED VIEW item_names")
    assert drift(run_cli, pg_url, folder) == {}
    run_sql(
        pg_url,
        "ALTER TABLE items ENABLE ROW LEVEL SECURITY;"
        "CREATE POLICY hide_all ON items USING (false);"
        "ALTER TABLE child INHERIT parent;",
    )
    assert drift(run_cli, pg_url, folder) == {
        "changed table public.child": ["inherits"],
        "changed table public.items": ["policies", "row_security"],
    }
