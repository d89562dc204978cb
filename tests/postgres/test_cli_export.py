"""`dbinspect export` on PostgreSQL: every row as COPY reads it, by bare or qualified name."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

from pgkit import run_sql
from testkit import RunCli


def copy_rows(url: str, table: str) -> list[list[str]]:
    out = subprocess.run(
        ["psql", "-X", "-q", "-d", url, "-c", f"COPY {table} TO STDOUT (FORMAT csv, HEADER)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return list(csv.reader(io.StringIO(out)))


def test_export_writes_every_row_as_copy_reads_them(
    pg_url: str, run_cli: RunCli, tmp_path: Path
) -> None:
    run_sql(
        pg_url,
        "CREATE SCHEMA shop; CREATE TABLE shop.item (id int PRIMARY KEY, name text, price numeric,"
        " tags text[], made date); INSERT INTO shop.item SELECT i, 'item, \"' || i || '\"',"
        " i / 3.0, ARRAY['a', 'b'], date '2020-01-01' + i FROM generate_series(1, 2500) i;"
        " CREATE TABLE plain (id int PRIMARY KEY, note text); INSERT INTO plain VALUES (1, 'x')",
    )
    result = run_cli("export", pg_url, "shop.item", "-o", tmp_path / "item.csv")
    assert result.returncode == 0, result.stderr
    assert "Exported 2,500 rows" in result.stderr
    with (tmp_path / "item.csv").open(newline="", encoding="utf-8") as exported:
        assert list(csv.reader(exported)) == copy_rows(pg_url, "shop.item")
    bare = run_cli("export", pg_url, "plain", "--format", "sql")
    assert bare.returncode == 0, bare.stderr
    assert 'INSERT INTO "public"."plain"("id", "note") VALUES(1, \'x\');' in bare.stdout
    missing = run_cli("export", pg_url, "shop.nothing")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no such table or view: shop.nothing"
