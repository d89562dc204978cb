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


def test_an_sql_export_loads_back_into_postgresql_unchanged(
    pg_url: str, run_cli: RunCli, tmp_path: Path
) -> None:
    from pgkit import query

    run_sql(
        pg_url,
        "CREATE TYPE mood AS ENUM ('ok', 'sad');"
        "CREATE TABLE t (id int PRIMARY KEY, b bytea, f8 float8, f4 real, n numeric, ok bool,"
        " j jsonb, s text, a int[], at timestamptz, m mood, big int8);"
        "INSERT INTO t VALUES"
        " (1, '\\x00ff1b27', 'NaN', 'NaN', 'NaN', true, '{\"a\": [1, 2.5]}', 'it''s \\ here',"
        "  '{1,NULL,3}', '2024-02-29 12:00:00+05', 'ok', 9223372036854775807),"
        " (2, '', 'Infinity', '-Infinity', 1e-30, false, 'null', E'tab\\tnew\\nline',"
        "  '{}', 'infinity', 'sad', -9223372036854775808),"
        " (3, NULL, '-0', 0.1, 12345678901234567890.0987654321, NULL, NULL, '', NULL, NULL,"
        "  NULL, NULL),"
        " (4, '\\x', 0.1, 3.4e38, -0.0, true, '\"x\"', '''', '{{1,2},{3,4}}', '-infinity',"
        "  'ok', 0)",
    )
    before = query(pg_url, "SELECT t::text FROM t ORDER BY id")
    result = run_cli("export", pg_url, "t", "--format", "sql", "-o", tmp_path / "t.sql")
    assert result.returncode == 0, result.stderr
    run_sql(pg_url, "TRUNCATE t")
    run_sql(pg_url, (tmp_path / "t.sql").read_text(encoding="utf-8"))
    assert query(pg_url, "SELECT t::text FROM t ORDER BY id") == before


def test_a_csv_export_of_the_copy_end_marker_loads_back_whole(
    pg_url: str, run_cli: RunCli, tmp_path: Path
) -> None:
    from pgkit import query

    # `\.` alone on a line ends COPY's data: written bare, the rows after it were lost.
    rows = ["a", "\\.", "b", "\\.", "c"]
    values = ", ".join(f"({i}, '{text}')" for i, text in enumerate(rows))
    run_sql(
        pg_url,
        f"CREATE TABLE lone (n int, t text); INSERT INTO lone SELECT * FROM (VALUES {values}) v;"
        "CREATE TABLE back (t text)",
    )
    exported = tmp_path / "lone.csv"
    done = run_cli("export", pg_url, "lone", "-o", exported)
    assert done.returncode == 0, done.stderr
    single = tmp_path / "single.csv"
    # One column per line, as a single-column table exports: COPY sees `\.` alone.
    with exported.open(newline="") as file:
        lines = [record[1] for record in csv.reader(file)][1:]
    done = run_cli("query", pg_url, "select t from lone order by n", "--format", "csv")
    assert done.returncode == 0, done.stderr
    single.write_bytes(done.stdout.encode())
    assert '"\\."' in single.read_text()
    load = f"\\copy back FROM '{single}' (FORMAT csv, HEADER)"
    subprocess.run(["psql", "-X", "-q", "-d", pg_url, "-c", load], check=True)
    assert lines == rows
    assert [r[0] for r in query(pg_url, "SELECT t FROM back")] == rows
