"""The CLI on PostgreSQL: arguments that are not UTF-8, amcheck's targets, query's values as
export writes them, COPY in the console, schema's `\\restrict` key, and TABLE names read as
SQL reads them. Each test in a database of its own on the real server."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from pgkit import fresh_database, query, run_sql
from testkit import RunCli, clean_env

from dbinspect.migrate.pg_dialect import client_refusal, copy_shape, split_statements
from dbinspect.ops.check_postgres import run_amcheck
from dbinspect.ops.pg_dump import (
    find_pg_dump,
    keyed_by_content,
    pg_dump_version,
    supports_restrict_key,
)
from dbinspect.query.console import StatementError, open_console
from dbinspect.url import parse_url

OneLineError = Callable[..., str]
FF = "\udcff"  # the byte 0xFF, as Python decodes it from the command line


def run_bytes(*args: str) -> subprocess.CompletedProcess[bytes]:
    """`python -m dbinspect ARGS`, its output as bytes (CSV's CRLF kept)."""
    return subprocess.run(
        [sys.executable, "-m", "dbinspect", *args],
        capture_output=True, env=clean_env(), timeout=60, check=False,
    )  # fmt: skip


# Arguments that are not UTF-8 -----------------------------------------------------------


def test_sql_and_table_that_are_not_utf8_are_named(
    pg_url: str, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    run_sql(pg_url, "CREATE TABLE t (x int)")
    one_line_error(run_cli("query", pg_url, f"select 1{FF}"), "the argument SQL", "\\xff")
    one_line_error(run_cli("export", pg_url, f"t{FF}"), "the argument TABLE", "\\xff")
    named = one_line_error(run_cli("info", pg_url + FF), "the database name in the URL")
    assert "DNS" not in named


# amcheck --------------------------------------------------------------------------------


def test_check_passes_a_healthy_database_with_a_partitioned_index(
    pg_url: str, run_cli: RunCli
) -> None:
    run_sql(
        pg_url,
        "CREATE EXTENSION amcheck; CREATE TABLE p (k int) PARTITION BY RANGE (k);"
        " CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);"
        " CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (10) TO (20);"
        " CREATE INDEX ON p (k); INSERT INTO p SELECT i % 20 FROM generate_series(1, 100) i",
    )
    result = run_cli("check", pg_url)
    # The partitions' two indexes have storage and are verified; p's own is only a name.
    assert "indexes: ok (amcheck verified 2 btree indexes)" in result.stdout, result.stdout
    assert "amcheck:" not in result.stdout


@contextmanager
def connected(url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    conn = psycopg.connect(url, autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


def test_amcheck_leaves_out_what_it_cannot_verify(pg_url: str) -> None:
    run_sql(
        pg_url,
        "CREATE EXTENSION amcheck; CREATE TABLE t (id int PRIMARY KEY, k int);"
        " INSERT INTO t SELECT i, i FROM generate_series(1, 100) i;"
        " CREATE UNLOGGED TABLE u (id int PRIMARY KEY)",
    )
    with connected(pg_url) as other, connected(pg_url) as writer:
        # Another session's temporary table: its index can be read by that session only.
        other.execute("CREATE TEMP TABLE scratch (id int PRIMARY KEY)")
        # A concurrent build waits for the open write before its index is ready.
        writer.execute("BEGIN")
        writer.execute("INSERT INTO t VALUES (1000, 1000)")
        build = threading.Thread(
            target=run_sql, args=(pg_url, "CREATE INDEX CONCURRENTLY t_k ON t (k)")
        )
        build.start()
        try:
            deadline = time.monotonic() + 30
            sql = "SELECT i.indisready FROM pg_index i WHERE i.indexrelid = 't_k'::regclass"
            while query(pg_url, "SELECT to_regclass('t_k') IS NOT NULL") != [(True,)]:
                assert time.monotonic() < deadline, "the concurrent build never started"
                time.sleep(0.05)
            assert query(pg_url, sql) == [(False,)]
            found = run_amcheck(parse_url(pg_url))
        finally:
            writer.execute("ROLLBACK")
            build.join(timeout=60)
    assert found.installed
    assert found.problems == ()
    assert found.checked == 2  # t's primary key and u's: not t_k, not scratch's
    after = run_amcheck(parse_url(pg_url))
    assert (after.checked, after.problems) == (3, ())  # t_k once built


# query writes values as export writes them ----------------------------------------------

TYPES = r"""
CREATE EXTENSION IF NOT EXISTS hstore; CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE mood AS ENUM ('ok', 'sad'); CREATE TYPE pair AS (a int, b bool);
CREATE DOMAIN dbool AS bool; CREATE DOMAIN dinet AS inet;
CREATE TABLE t (id int PRIMARY KEY, b bool, ba bool[], i inet, ia inet[], c cidr,
  ch "char", nm name, bp char(5), vc varchar(9), tx text, n numeric, m money, f4 real,
  f8 float8, i2 int2, i8 int8, o oid, by bytea, ts timestamp, tz timestamptz, d date,
  tm time, ttz timetz, iv interval, j json, jb jsonb, x xml, u uuid, mc macaddr,
  bt bit(4), vb varbit, tv tsvector, tq tsquery, e mood, p pair, r int4range,
  pt point, bx box, h hstore, ct citext, db dbool, di dinet, l pg_lsn, ea mood[],
  pa pair[], tsa text[]);
INSERT INTO t VALUES
 (1, true, '{t,f,NULL}', '10.0.0.1', '{10.0.0.1,::1}', '10.0.0.0/8', 'a', 'nm', 'ab',
  'vc', 'tx', 1.50, 12.3, 0.1, 0.1, 2, 8, 26, '\x00ff', '2024-01-01 12:00',
  '2024-01-01 12:00+02', '2024-01-01', '12:00', '12:00+02', '1 day 2 hours', '{"a": 1}',
  '{"a": 1}', '<a/>', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '08:00:2b:01:02:03',
  B'1010', B'', 'a b', 'a & b', 'ok', ROW(1, true), '[1,3)', '(1,2)', '((0,0),(1,1))',
  'a=>1', 'CiT', false, '::1', '0/16B3748', '{ok,sad}', '{"(1,t)"}', '{"a b",NULL,""}'),
 (2, false, '{}', '::1/128', '{}', '::/0', NULL, NULL, NULL, NULL, '', NULL, NULL, 'NaN',
  '-Infinity', NULL, NULL, NULL, '\x', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '',
  NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, 'empty', NULL, NULL, '', '', NULL,
  '10.1.2.3/8', NULL, '{}', '{}', '{}'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL);
"""


def test_query_writes_every_type_as_export_writes_it(pg_url: str, run_cli: RunCli) -> None:
    run_sql(pg_url, TYPES)
    for fmt in ("csv", "jsonl"):
        exported = run_bytes("export", pg_url, "t", "--format", fmt)
        queried = run_bytes("query", pg_url, "select * from t order by id", "--format", fmt)
        assert exported.returncode == 0, exported.stderr
        assert queried.returncode == 0, queried.stderr
        assert queried.stdout == exported.stdout
    one = run_cli("query", pg_url, "select * from t where id = 1", "--format", "jsonl")
    first = json.loads(one.stdout)
    # `::text`'s own casts: a boolean (a domain's too) in words, an inet with its mask;
    # arrays and composites as the server writes them.
    assert [first[k] for k in ("b", "db", "i", "di")] == ["true", "false", "10.0.0.1/32", "::1/128"]
    assert (first["ba"], first["ia"], first["p"]) == ("{t,f,NULL}", "{10.0.0.1,::1}", "(1,t)")
    table = run_cli("query", pg_url, "select b, ba, i from t order by id").stdout
    assert table.splitlines()[2:5] == [
        " true  | {t,f,NULL} | 10.0.0.1/32",
        " false | {}         | ::1/128",
        " NULL  | NULL       | NULL",
    ]


def test_query_types_agree_with_psql_casts(pg_url: str, run_cli: RunCli) -> None:
    # On the server: `::text` is what export writes of every type it does not take as it
    # is (numbers, bytea, and char(n), whose cast would drop its blanks), and query too.
    run_sql(pg_url, TYPES)
    columns = [r[0] for r in query(pg_url, "SELECT attname::text FROM pg_attribute"
               " WHERE attrelid = 't'::regclass AND attnum > 1 ORDER BY attnum")]  # fmt: skip
    casts = ", ".join(f"{name}::text AS {name}" for name in columns if name not in ("by", "bp"))
    queried = run_cli("query", pg_url, "select * from t order by id", "--format", "jsonl")
    as_text = run_cli("query", pg_url, f"select {casts} from t order by id", "--format", "jsonl")
    for row, text_row in zip(
        map(json.loads, queried.stdout.splitlines()),
        map(json.loads, as_text.stdout.splitlines()),
        strict=True,
    ):
        for name, value in text_row.items():
            if isinstance(row[name], str) or row[name] is None:
                assert row[name] == value, (name, row[name], value)


# Empty text and NULL --------------------------------------------------------------------

EMPTY_SQL = (
    "select pg_sleep(0) as v, null::void as nv, ''::text as t, null::text as nt,"
    " ''::tsvector as tv, null::tsvector as ntv, ''::citext as ct, B''::varbit as vb"
)


def test_an_empty_value_and_null_stay_apart_in_every_format(pg_url: str, run_cli: RunCli) -> None:
    run_sql(pg_url, "CREATE EXTENSION citext")
    table = run_cli("query", pg_url, EMPTY_SQL)
    assert table.returncode == 0, table.stderr
    # As psql shows them: a type's empty text (void's, an empty tsvector's) as nothing;
    # the empty string of a string type as "", NULL as NULL.
    assert table.stdout.splitlines() == [
        " v | nv   | t  | nt   | tv | ntv  | ct | vb",
        "---+------+----+------+----+------+----+----",
        '   | NULL | "" | NULL |    | NULL | "" |',
        "(1 row)",
    ]
    csv_out = run_bytes("query", pg_url, EMPTY_SQL, "--format", "csv").stdout
    assert csv_out.split(b"\r\n")[1] == b'"",,"",,"",,"",""'  # as COPY ... CSV writes them
    for fmt in ("jsonl", "json"):
        out = run_cli("query", pg_url, EMPTY_SQL, "--format", fmt).stdout
        row = json.loads(out) if fmt == "jsonl" else json.loads(out)[0]
        assert row == {"v": "", "nv": None, "t": "", "nt": None, "tv": "", "ntv": None,
                       "ct": "", "vb": ""}  # fmt: skip


# COPY in the console --------------------------------------------------------------------


@pytest.mark.parametrize("write", [False, True])
def test_copy_with_the_client_is_refused_with_what_to_do(
    write: bool, pg_url: str, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    run_sql(pg_url, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
    mode = ["--write"] if write else []
    for sql in ("copy t to stdout", "COPY (select 1) TO STDOUT WITH (FORMAT csv)"):
        line = one_line_error(run_cli("query", *mode, pg_url, sql),
                              "COPY ... TO STDOUT is not supported here",
                              "use a SELECT, or `dbinspect export`")  # fmt: skip
        assert "read-only" not in line and "copy()" not in line
    line = one_line_error(run_cli("query", *mode, pg_url, "copy t from stdin"),
                          "COPY ... FROM STDIN is not supported here", "INSERT")  # fmt: skip
    assert query(pg_url, "SELECT count(*) FROM t") == [(1,)]


def test_copy_to_a_server_file_stays_read_only(
    pg_url: str, run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path
) -> None:
    run_sql(pg_url, "CREATE TABLE t (x int)")
    target = tmp_path / "never.csv"
    for sql, said in (
        (f"copy t to '{target}'", "COPY ... TO a file writes that file on the server"),
        ("copy t from program 'true'", "COPY ... PROGRAM runs a program on the server"),
        ("copy t from '/etc/hostname'", "COPY ... FROM a file writes its rows into a table"),
    ):
        one_line_error(run_cli("query", pg_url, sql), f"read-only: {said}", "pass --write")
    assert not target.exists()


async def test_the_console_refuses_copy_and_goes_on(pg_url: str) -> None:
    run_sql(pg_url, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
    session = await open_console(parse_url(pg_url), read_only=False)
    try:
        for write in (False, True):
            with pytest.raises(StatementError, match=r"^COPY \.\.\. TO STDOUT is not supported"):
                await session.run("copy t to stdout", write=write)
        outcome = await session.run("select x from t")
        assert outcome.cursor is not None
        assert await outcome.cursor.rows(0, 10) == [(1,)]
    finally:
        await session.aclose()


def test_copy_shape_reads_each_form() -> None:
    shapes = {
        "copy t to stdout": ("TO", "client"),
        "copy t (a) from stdin with (format csv)": ("FROM", "client"),
        "copy t from stdin;\n1\n\\.\n": ("FROM", "client"),  # its data rows after it
        "copy t to '/tmp/x'": ("TO", "file"),
        "copy t from program 'ls'": ("FROM", "program"),
        "select 1": None,
    }
    for sql, shape in shapes.items():
        (statement, *_) = split_statements(sql)
        found = copy_shape(statement)
        assert (None if found is None else tuple(found)) == shape, sql
    # Migrations refuse the client's COPY as before.
    assert client_refusal(split_statements("create table t (a int);\ncopy t from stdin;"))
    assert client_refusal(split_statements("copy t to '/tmp/x';")) is None


# schema's \restrict key -----------------------------------------------------------------


def restrict_keys(text: str) -> list[str]:
    return re.findall(r"^\\(?:un)?restrict (\S+)$", text, re.MULTILINE)


def test_schema_sql_key_is_the_same_each_run_and_known_to_no_one(
    pg_url: str, run_cli: RunCli
) -> None:
    if not supports_restrict_key(pg_dump_version(find_pg_dump())):
        pytest.skip("this pg_dump writes no \\restrict lines")
    run_sql(pg_url, "CREATE TABLE t (id int PRIMARY KEY); COMMENT ON TABLE t IS 'x'")
    first = run_cli("schema", "--format", "sql", pg_url)
    assert first.returncode == 0, first.stderr
    assert run_cli("schema", "--format", "sql", pg_url).stdout == first.stdout
    key, closing = restrict_keys(first.stdout)
    assert key == closing
    assert key == hashlib.sha256(first.stdout.replace(key, "").encode()).hexdigest()
    run_sql(pg_url, "COMMENT ON TABLE t IS 'y'")
    assert restrict_keys(run_cli("schema", "--format", "sql", pg_url).stdout)[0] != key
    # psql replays it, behind its restriction.
    with fresh_database("dbi_replay") as replay:
        done = subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", replay],
            input=first.stdout, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert query(replay, "SELECT obj_description('t'::regclass)") == [("x",)]


def test_schema_dbmate_keeps_dbmates_own_lines(pg_url: str, run_cli: RunCli) -> None:
    if not supports_restrict_key(pg_dump_version(find_pg_dump())):
        pytest.skip("this pg_dump writes no \\restrict lines")
    run_sql(pg_url, "CREATE TABLE t (id int)")
    out = run_cli("schema", "--format", "dbmate", pg_url).stdout
    assert restrict_keys(out) == ["dbmate", "dbmate"]  # byte for byte what dbmate writes


def test_a_key_written_by_the_server_is_not_the_dumps() -> None:
    smuggled = "\\unrestrict dbinspect\n\\! touch /tmp/owned\n"
    dump = (
        "--\n-- PostgreSQL database dump\n--\n\n\\restrict RANDOMkey123\n\n"
        f"COMMENT ON TABLE t IS 'x\n{smuggled}';\n\n\\unrestrict RANDOMkey123\n"
    )
    keyed = keyed_by_content(dump)
    key = hashlib.sha256(dump.replace("RANDOMkey123", "").encode()).hexdigest()
    assert restrict_keys(keyed) == [key, "dbinspect", key]
    assert keyed_by_content(keyed) == keyed  # the same text keys to the same key
    # Only the header's line is pg_dump's: one further down is the server's text.
    late = "--\n-- dump\n--\n\nSET x = 1;\n\\restrict chosen\n"
    assert keyed_by_content(late) == late
    assert keyed_by_content("-- no restriction\n") == "-- no restriction\n"


# export's TABLE, read as SQL reads a name -----------------------------------------------

NAMES = """
CREATE SCHEMA secret; CREATE TABLE secret.s (which text); INSERT INTO secret.s VALUES ('secret s');
CREATE TABLE public."secret.s" (which text); INSERT INTO public."secret.s" VALUES ('public dotted');
CREATE TABLE public."only.dotted" (which text); INSERT INTO public."only.dotted" VALUES ('only');
CREATE SCHEMA app; CREATE TABLE app.items (which text); INSERT INTO app.items VALUES ('app items');
CREATE TABLE public.items (which text); INSERT INTO public.items VALUES ('public items');
CREATE TABLE public.solo (which text); INSERT INTO public.solo VALUES ('public solo');
CREATE TABLE "Mixed" (which text); INSERT INTO "Mixed" VALUES ('Mixed');
CREATE TABLE "Twice" (which text); INSERT INTO "Twice" VALUES ('Twice quoted');
CREATE TABLE twice (which text); INSERT INTO twice VALUES ('twice folded');
CREATE VIEW secret.v AS SELECT 'secret view' AS which;
"""


@pytest.fixture
def names_url(pg_url: str) -> str:
    run_sql(pg_url, NAMES)
    database = pg_url.rsplit("/", 1)[1]
    run_sql(pg_url, f'ALTER DATABASE "{database}" SET search_path = app, public')
    return pg_url


@pytest.mark.parametrize(
    ("name", "which"),
    [
        ("secret.s", "secret s"),
        ('"secret"."s"', "secret s"),
        ('secret."s"', "secret s"),
        ('"secret".s', "secret s"),
        ("SECRET.S", "secret s"),  # unquoted parts fold to lower case
        ('"secret.s"', "public dotted"),
        ('public."secret.s"', "public dotted"),
        ("only.dotted", "only"),  # no schema `only`: the exact name, on the search_path
        ("items", "app items"),  # the search_path's first schema that has it
        ("public.items", "public items"),
        ("solo", "public solo"),
        ("Mixed", "Mixed"),  # no table `mixed`: the exact name
        ('"Mixed"', "Mixed"),
        ("Twice", "twice folded"),  # as SQL reads it first
        ('"Twice"', "Twice quoted"),
        ("secret.v", "secret view"),
    ],
)
def test_export_reads_table_as_sql_reads_a_name(
    name: str, which: str, names_url: str, run_cli: RunCli
) -> None:
    result = run_cli("export", names_url, name, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stdout == json.dumps({"which": which}) + "\n"


def test_export_of_a_name_that_finds_nothing(
    names_url: str, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    for name in ("secret.nothing", '"secret"."S"', 'a"b', "x.y.z.w"):
        one_line_error(run_cli("export", names_url, name), f"no such table or view: {name}")
