"""A PostgreSQL `json` backup and its restore keep table inheritance, row-level security
and its policies, partition indexes attached, tables without columns and materialized
views left unpopulated; what it cannot rebuild is refused by `backup`, up front."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pgkit import SERVER_URL, query, run_sql
from testkit import RunCli


def pg_dump_schema(url: str) -> str:
    done = subprocess.run(
        ["pg_dump", "--schema-only", "-d", url], capture_output=True, text=True, check=True
    )
    return "\n".join(line for line in done.stdout.splitlines() if "restrict" not in line)


@pytest.fixture
def target(pg_url: str) -> Iterator[str]:
    """The URL of a database to restore into (created by the restore), dropped afterwards
    with every database named after it."""
    url = f"{pg_url}_out"
    yield url
    name = url.rpartition("/")[2]
    for (found,) in query(
        SERVER_URL, "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (name,)
    ):
        run_sql(SERVER_URL, f'DROP DATABASE IF EXISTS "{found}" WITH (FORCE)')


def backup(run_cli: RunCli, url: str, tmp_path: Path) -> Path:
    file = tmp_path / "backup.json"
    done = run_cli("backup", url, "--format", "json", "-o", file)
    assert done.returncode == 0, done.stderr
    return file


def round_trip(run_cli: RunCli, source: str, target: str, tmp_path: Path) -> str:
    """Back `source` up as json and restore it into `target`; the restore's stdout."""
    file = backup(run_cli, source, tmp_path)
    done = run_cli("restore", file, target)
    assert done.returncode == 0, done.stderr
    return done.stdout


def one(url: str, sql: str) -> object:
    return query(url, sql)[0][0]


def test_inheritance_is_rebuilt_and_each_table_keeps_only_its_own_rows(
    pg_url: str, target: str, run_cli: RunCli, tmp_path: Path
) -> None:
    run_sql(
        pg_url,
        "CREATE TABLE parent (id int NOT NULL, v text DEFAULT 'p', CHECK (id > 0));"
        "CREATE TABLE other (w int);"
        "CREATE TABLE child (extra int, v text DEFAULT 'c') INHERITS (parent, other);"
        "CREATE TABLE grandchild () INHERITS (child);"
        "INSERT INTO parent VALUES (1, 'p'); INSERT INTO child VALUES (2, 'c', 5, 3);"
        "INSERT INTO grandchild VALUES (3, 'g', 6, 4);",
    )
    file = backup(run_cli, pg_url, tmp_path)
    parent = '"name": "parent", "columns": ["id", "v"], "rows": [\n{"id": "1", "v": "p"}\n]}'
    assert parent in file.read_text()  # without the children's rows
    assert run_cli("restore", file, target).returncode == 0
    assert pg_dump_schema(target) == pg_dump_schema(pg_url)
    for table in ("parent", "child", "grandchild", "ONLY parent", "ONLY child"):
        select = f"SELECT t::text FROM {table} t ORDER BY 1"
        assert query(target, select) == query(pg_url, select), table
    assert query(target, "SELECT count(*) FROM parent") == [(3,)]
    inherits = "SELECT inhrelid::regclass::text, inhparent::regclass::text, inhseqno " \
               "FROM pg_inherits ORDER BY 1, 3"  # fmt: skip
    assert query(target, inherits) == [
        ("child", "parent", 1), ("child", "other", 2), ("grandchild", "child", 1)
    ]  # fmt: skip


POLICIES = '''
CREATE TABLE notes (id int, author text, body text);
INSERT INTO notes VALUES (1, 'pg_read_all_data', 'mine'), (2, 'someone', 'hidden');
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY own ON notes USING (author = current_user);
CREATE POLICY "no ""edits""" ON notes AS RESTRICTIVE FOR UPDATE TO pg_read_all_data, postgres
    USING (id > 0) WITH CHECK (body <> '');
CREATE POLICY adds ON notes FOR INSERT TO pg_monitor WITH CHECK (true);
CREATE TABLE open_rls (x int);
ALTER TABLE open_rls ENABLE ROW LEVEL SECURITY;
'''


def visible_notes(url: str) -> list[tuple[object, ...]]:
    """What a role without BYPASSRLS sees (pg_read_all_data does not bypass policies)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET ROLE pg_read_all_data")
        return conn.execute("SELECT id FROM notes ORDER BY id").fetchall()


def test_row_level_security_and_policies_are_rebuilt(
    pg_url: str, target: str, run_cli: RunCli, tmp_path: Path
) -> None:
    run_sql(pg_url, POLICIES)
    assert visible_notes(pg_url) == [(1,)]
    round_trip(run_cli, pg_url, target, tmp_path)
    assert pg_dump_schema(target) == pg_dump_schema(pg_url)
    assert visible_notes(target) == [(1,)]
    flags = "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class " \
            "WHERE relname IN ('notes', 'open_rls') ORDER BY 1"  # fmt: skip
    assert query(target, flags) == [("notes", True, True), ("open_rls", True, False)]
    assert query(target, "SELECT count(*) FROM notes") == [(2,)]  # the superuser sees all


def test_a_policy_role_missing_on_the_server_is_left_out_and_said(
    pg_url: str, target: str, run_cli: RunCli, tmp_path: Path
) -> None:
    run_sql(pg_url, POLICIES)
    file = backup(run_cli, pg_url, tmp_path)
    head, rest = file.read_text().split("\n", 1)
    # Roles belong to the server: one the backup's server had, this one has not.
    head = head.replace('"roles": ["pg_monitor"]', '"roles": ["dbi_role_absent_here"]')
    head = head.replace(
        '"roles": ["pg_read_all_data", "postgres"]',
        '"roles": ["dbi_other_absent_role", "pg_read_all_data"]',
    )
    file.write_text(head + "\n" + rest)
    done = run_cli("restore", file, target)
    assert done.returncode == 0, done.stderr
    told = [line for line in done.stderr.splitlines() if line.startswith("Policy")]
    assert told == [
        "Policy adds on public.notes names roles that do not exist on this server "
        "(dbi_role_absent_here): so the policy is left out",
        'Policy no "edits" on public.notes names roles that do not exist on this server '
        "(dbi_other_absent_role): left out of it",
    ]
    policies = "SELECT polname, polroles::regrole[]::text[] FROM pg_policy ORDER BY 1"
    assert query(target, policies) == [('no "edits"', ["pg_read_all_data"]), ("own", ["-"])]
    assert visible_notes(target) == [(1,)]


def test_partition_indexes_come_back_attached(
    pg_url: str, target: str, run_cli: RunCli, tmp_path: Path
) -> None:
    run_sql(
        pg_url,
        "CREATE TABLE part (k int, r text) PARTITION BY RANGE (k);"
        "CREATE TABLE part_1 PARTITION OF part FOR VALUES FROM (0) TO (10);"
        "CREATE TABLE part_2 PARTITION OF part FOR VALUES FROM (10) TO (20) PARTITION BY LIST (r);"
        "CREATE TABLE part_2a PARTITION OF part_2 FOR VALUES IN ('a');"
        "CREATE INDEX part_k ON part (k);"
        "CREATE INDEX odd_name ON part_1 (r);"
        "CREATE INDEX part_r ON ONLY part (r);"
        "ALTER INDEX part_r ATTACH PARTITION odd_name;"
        "INSERT INTO part VALUES (1, 'x'), (15, 'a');",
    )
    round_trip(run_cli, pg_url, target, tmp_path)
    assert pg_dump_schema(target) == pg_dump_schema(pg_url)
    attached = "SELECT c.relname, p.relname FROM pg_inherits i JOIN pg_class c ON " \
               "c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent " \
               "WHERE c.relkind IN ('i', 'I') ORDER BY 1"  # fmt: skip
    assert query(target, attached) == query(pg_url, attached)
    assert len(query(target, attached)) == 4  # part_1, part_2, part_2a under part_k; odd_name
    validity = "SELECT indexrelid::regclass::text, indisvalid FROM pg_index " \
               "WHERE indrelid = 'part'::regclass ORDER BY 1"  # fmt: skip
    assert query(target, validity) == [("part_k", True), ("part_r", False)]


def test_tables_without_columns_to_write_keep_their_rows(
    pg_url: str, target: str, run_cli: RunCli, tmp_path: Path
) -> None:
    run_sql(
        pg_url,
        "CREATE TABLE z (); INSERT INTO z DEFAULT VALUES; INSERT INTO z DEFAULT VALUES;"
        "CREATE TABLE empty_z ();"
        "CREATE TABLE only_generated (g int GENERATED ALWAYS AS (7) STORED);"
        "INSERT INTO only_generated DEFAULT VALUES;",
    )
    round_trip(run_cli, pg_url, target, tmp_path)
    assert query(target, "SELECT count(*) FROM z") == [(2,)]
    assert query(target, "SELECT count(*) FROM empty_z") == [(0,)]
    assert query(target, "SELECT g FROM only_generated") == [(7,)]


def test_a_row_that_does_not_load_names_its_table(
    pg_url: str, target: str, run_cli: RunCli, tmp_path: Path,
    one_line_error: Callable[..., str],
) -> None:  # fmt: skip
    run_sql(pg_url, 'CREATE SCHEMA s; CREATE TABLE s."my t" (n int); INSERT INTO s."my t" SELECT 1')
    file = backup(run_cli, pg_url, tmp_path)
    file.write_text(file.read_text().replace('{"n": "1"}', '{"n": "one"}'))
    result = run_cli("restore", file, target)
    one_line_error(result, "rows of s.my t", "invalid input syntax for type integer")
    assert query(SERVER_URL, "SELECT 1 FROM pg_database WHERE datname = %s",
                 (target.rpartition("/")[2],)) == []  # fmt: skip


def test_a_materialized_view_left_unpopulated_stays_so(
    pg_url: str, target: str, run_cli: RunCli, tmp_path: Path
) -> None:
    run_sql(
        pg_url,
        "CREATE TABLE t (x int); INSERT INTO t VALUES (0);"
        "CREATE MATERIALIZED VIEW never_run AS SELECT 1 / x AS y FROM t WITH NO DATA;"
        "CREATE MATERIALIZED VIEW filled AS SELECT x FROM t;"
        "CREATE INDEX never_run_y ON never_run (y);",
    )
    structure = json.loads(run_cli("schema", pg_url, "--format", "json").stdout)
    views = {v["name"]: v.get("populated") for v in structure["materialized_views"]}
    assert views == {"filled": None, "never_run": False}  # said only when unpopulated
    round_trip(run_cli, pg_url, target, tmp_path)
    populated = "SELECT relname, relispopulated FROM pg_class WHERE relkind = 'm' ORDER BY 1"
    assert query(target, populated) == [("filled", True), ("never_run", False)]
    assert query(target, "SELECT x FROM filled") == [(0,)]
    assert pg_dump_schema(target) == pg_dump_schema(pg_url)


@pytest.mark.parametrize(
    ("setup", "named"),
    [
        (
            "CREATE AGGREGATE my_sum (int) (SFUNC = int4pl, STYPE = int, INITCOND = '0')",
            "aggregate public.my_sum(integer)",
        ),
        (
            "CREATE EXTENSION postgres_fdw; CREATE SERVER elsewhere FOREIGN DATA WRAPPER "
            "postgres_fdw; CREATE FOREIGN TABLE remote (x int) SERVER elsewhere",
            "foreign table public.remote",
        ),
    ],
)
def test_a_json_backup_refuses_what_its_restore_cannot_rebuild(
    pg_url: str, run_cli: RunCli, tmp_path: Path, one_line_error: Callable[..., str],
    setup: str, named: str,
) -> None:  # fmt: skip
    run_sql(pg_url, "CREATE TABLE kept (x int); " + setup)
    file = tmp_path / "backup.json"
    result = run_cli("backup", pg_url, "--format", "json", "-o", file)
    one_line_error(result, named, "--format sql or custom")
    assert not file.exists() and list(tmp_path.glob("backup*")) == []
