"""`dbinspect query`: results streamed to stdout as exact bytes, read-only unless --write.

On temporary SQLite files and on the PostgreSQL test server (the `pg_url` tests), each
through the real command in a subprocess.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pgkit import query as pg_query
from pgkit import run_sql
from testkit import MakeDb, RunCli, clean_env

from dbinspect.export.encode import decode_json_value
from dbinspect.sqlite_driver import dbapi as sqlite3

OneLineError = Callable[..., str]

HOSTILE = """
CREATE TABLE t(id INTEGER PRIMARY KEY, v, w TEXT);
INSERT INTO t(v, w) VALUES
  (NULL, ''),
  ('a' || char(0) || 'b', 'nul inside'),
  ('line one' || char(13, 10) || 'line two' || char(10), 'crlf and lf'),
  ('say "hi", then ''bye''', 'quotes and a comma'),
  ('café 漢字 ' || char(8232) || ' 😀', 'unicode, U+2028'),
  (char(27) || '[31mred' || char(27) || '[0m', 'an escape sequence'),
  (X'00FF10', 'a blob'),
  (CAST(X'6361FE' AS TEXT), 'text that is not UTF-8'),
  (1e999, 'infinity'),
  (-0.0, 'negative zero'),
  (9223372036854775807, 'the largest integer');
"""


def run_bytes(
    *args: str | os.PathLike[str], cwd: Path, stdin: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """`python -m dbinspect ARGS`, its output as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "dbinspect", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=clean_env(),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[bytes]) -> bytes:
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    return result.stdout


def json_values(text: str) -> list[object]:
    """Every JSON document in `text`, in order (the json format writes one per result)."""
    decoder = json.JSONDecoder()
    found, at = [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


def sqlite_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    conn.text_factory = lambda data: data.decode("utf-8", "surrogateescape")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# SQLite ---------------------------------------------------------------------------------


def test_csv_and_jsonl_are_the_exporters_exact_bytes(tmp_path: Path, make_db: MakeDb) -> None:
    database = make_db(tmp_path, HOSTILE)
    for fmt in ("csv", "jsonl"):
        queried = ok(
            run_bytes(
                "query", database, "select * from t order by id", "--format", fmt, cwd=tmp_path
            )
        )
        exported = ok(run_bytes("export", database, "t", "--format", fmt, cwd=tmp_path))
        assert queried == exported
    csv_out = ok(run_bytes("query", database, "select v from t", "--format", "csv", cwd=tmp_path))
    assert csv_out.split(b"\r\n")[:3] == [b"v", b"", b"a\x00b"]
    assert b'"say ""hi"", then \'bye\'"\r\n' in csv_out
    assert b"\x1b[31mred\x1b[0m\r\n" in csv_out  # as is: the format's own rules only
    assert b"\r\nX'00FF10'\r\n" in csv_out
    assert b"\r\nca\\xfe\r\n" in csv_out  # not UTF-8: the byte escaped, as `export` does
    assert "caf\u00e9 \u6f22\u5b57 \u2028 \U0001f600".encode() in csv_out


def test_json_array_holds_every_value_exactly(tmp_path: Path, make_db: MakeDb) -> None:
    database = make_db(tmp_path, HOSTILE)
    out = ok(
        run_bytes(
            "query", database, "select * from t order by id", "--format", "json", cwd=tmp_path
        )
    )
    assert out.startswith(b'[\n{"id": 1, "v": null, "w": ""},\n{"id": 2, ')
    assert out.endswith(b"}\n]\n")
    (rows,) = json_values(out.decode("utf-8"))
    assert isinstance(rows, list)
    got = [tuple(decode_json_value(value) for value in row.values()) for row in rows]
    expected = sqlite_rows(database, "select * from t order by id")
    assert got[:7] == expected[:7]
    assert got[7][1] == "ca\\xfe"  # not UTF-8: the byte escaped, as `export` does
    assert got[8:] == expected[8:]
    assert rows[6]["v"] == {"$blob": "00ff10"}
    assert rows[8]["v"] == {"$real": "Infinity"}


def test_several_statements_each_result_in_turn(tmp_path: Path, make_db: MakeDb) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 'x'), (2, 'y');")
    sql = (
        "select a, b from t order by a;\n-- a comment\n"
        "select count(*) as n from t; select 1 where 0"
    )
    csv_out = ok(run_bytes("query", database, sql, "--format", "csv", cwd=tmp_path))
    assert csv_out == b"a,b\r\n1,x\r\n2,y\r\n\r\nn\r\n2\r\n\r\n1\r\n"
    jsonl = ok(run_bytes("query", database, sql, "--format", "jsonl", cwd=tmp_path))
    assert jsonl == b'{"a": 1, "b": "x"}\n{"a": 2, "b": "y"}\n{"n": 2}\n'
    arrays = ok(run_bytes("query", database, sql, "--format", "json", cwd=tmp_path))
    assert json_values(arrays.decode()) == [
        [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
        [{"n": 2}],
        [],
    ]
    assert arrays.endswith(b"\n]\n[]\n")
    table = ok(run_bytes("query", database, sql, cwd=tmp_path)).decode()
    assert table == (
        " a | b\n---+---\n 1 | x\n 2 | y\n(2 rows)\n\n n\n---\n 2\n(1 row)\n\n 1\n---\n(0 rows)\n"
    )


def test_table_is_aligned_and_escaped_for_a_terminal(tmp_path: Path, make_db: MakeDb) -> None:
    database = make_db(
        tmp_path,
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v);"
        "INSERT INTO t VALUES (1, 'two' || char(10) || 'lines', NULL), (2, '漢字', 2.5),"
        f"(3, char(27) || '[2J', ''), (4, '{'x' * 50}', X'0102');",
    )
    named = ok(run_bytes("query", database, 'select 1 as "a\x1b[2Jb"', cwd=tmp_path))
    assert named.decode().splitlines()[0] == " a\\x1b[2Jb"
    table = ok(run_bytes("query", database, "select * from t", cwd=tmp_path)).decode()
    lines = table.splitlines()
    assert lines[0] == " id | name                                     | v"
    assert lines[2] == "  1 | two↵lines                                | NULL"
    assert lines[3] == "  2 | 漢字                                     |     2.5"
    assert lines[4] == '  3 | \\x1b[2J                                  | ""'
    assert lines[5] == "  4 | " + "x" * 39 + "… | X'0102'"
    assert lines[-1] == "(4 rows)"
    assert "\x1b" not in table


def test_a_write_is_refused_without_write(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(a); INSERT INTO t VALUES (1);")
    before = database.read_bytes()
    for sql in ("delete from t", "select 1; insert into t values (2)", "drop table t"):
        result = run_cli("query", database, sql)
        line = one_line_error(result, "read-only: this statement writes", "pass --write")
        assert line.startswith("error: statement ")
    assert run_cli("query", database, "select 1; delete from t").stdout == " 1\n---\n 1\n(1 row)\n"
    assert database.read_bytes() == before


def test_write_commits_each_statement(tmp_path: Path, make_db: MakeDb) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(a INTEGER PRIMARY KEY, b);")
    sql = (
        "insert into t(b) values ('x'), ('y'); update t set b = 'z' where a = 2 returning a, b;"
        " select count(*) from t; alter table t add column c; drop table if exists gone"
    )
    out = ok(run_bytes("query", "--write", database, sql, "--format", "jsonl", cwd=tmp_path))
    assert out == b'{"a": 2, "b": "z"}\n{"count(*)": 2}\n'
    assert sqlite_rows(database, "select * from t") == [(1, "x", None), (2, "z", None)]


def test_a_failure_stops_and_says_what_ran(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(a INTEGER PRIMARY KEY);")
    sql = (
        "insert into t values (1);\ninsert into t values (2);\n"
        "insert into t values (1);\ninsert into t values (4)"
    )
    result = run_cli("query", "--write", database, sql)
    one_line_error(
        result,
        "statement 3:",
        "UNIQUE constraint failed",
        "statements 1-2 ran, their changes committed",
    )
    assert sqlite_rows(database, "select a from t order by a") == [(1,), (2,)]


def test_an_error_names_its_statement_line_and_column(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli
) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(a);")
    result = run_cli("query", database, "select a from t;\n\nselect a\n  from t,\n    nowhere")
    assert result.returncode == 1
    assert result.stderr == (
        "error: statement 2 (line 5:5): no such table: nowhere; statement 1 ran\n"
    )
    syntax = run_cli("query", database, "select 1 from t whe a = 1")
    assert syntax.stderr == 'error: statement 1 (line 1:21): near "a": syntax error\n'
    assert syntax.stdout == ""
    # SQLite names the token only: its place is the whole word, not a part of `select`.
    named = run_cli("query", database, "select * from sel")
    assert named.stderr == "error: statement 1 (line 1:15): no such table: sel\n"


def test_sql_from_stdin(tmp_path: Path, make_db: MakeDb, one_line_error: OneLineError) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(a); INSERT INTO t VALUES ('é');")
    script = b"select a from t;\nselect 'two';\n"
    out = ok(run_bytes("query", database, "-", "--format", "csv", cwd=tmp_path, stdin=script))
    assert out == "a\r\né\r\n\r\n'two'\r\ntwo\r\n".encode()
    bad = run_bytes("query", database, "-", cwd=tmp_path, stdin=b"select '\xff'")
    one_line_error(subprocess.CompletedProcess(bad.args, 1, "", bad.stderr.decode()), "not UTF-8")


def test_url_from_the_environment_and_refusals_before_anything_runs(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(a);")
    result = run_cli("query", "select 42 as answer", "--format", "jsonl",
                     env={"DATABASE_URL": f"sqlite:{database}"})  # fmt: skip
    assert (result.returncode, result.stdout) == (0, '{"answer": 42}\n')
    one_line_error(run_cli("query", database, "/* nothing */ ;"), "no SQL statement")
    # A buffer that starts with a comment comes after `--`, which ends the options.
    commented = run_cli(
        "query", database, "--format", "jsonl", "--", "-- a comment\nselect 1 as one"
    )
    assert (commented.returncode, commented.stdout) == (0, '{"one": 1}\n')
    one_line_error(
        run_cli("query", "--write", database, "insert into t values (1); commit"),
        "statement 2: commit",
        "transaction of its own",
    )
    assert sqlite_rows(database, "select count(*) from t") == [(0,)]
    usage = run_cli("query", database, "select 1", "--format", "xml")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def peak_run(tmp_path: Path, name: str, *args: str) -> tuple[int, int]:
    """Run the command with stdout to a file; its peak RSS in kB and its output's lines."""
    rss, out = tmp_path / f"{name}.rss", tmp_path / f"{name}.out"
    code = (
        "import atexit, resource, sys\n"
        "target = sys.argv.pop(1)\n"
        "atexit.register(lambda: open(target, 'w').write("
        "str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)))\n"
        "from dbinspect.__main__ import run\n"
        "run()\n"
    )
    with out.open("wb") as stdout:
        result = subprocess.run(
            [sys.executable, "-c", code, str(rss), *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=clean_env(),
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    with out.open("rb") as written:
        lines = sum(1 for _ in written)
    return int(rss.read_text()), lines


ROWS = 300_000


def test_a_large_result_streams_in_flat_memory(tmp_path: Path, make_db: MakeDb) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(a);")
    # Kept whole in memory, these rows would take about 70 MB (a tuple, an int, a 100-char str).
    big = (
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < "
        f"{ROWS}) SELECT i, printf('%0100d', i) AS pad FROM c"
    )
    small_rss, small_lines = peak_run(
        tmp_path, "small", "query", str(database), "select 1", "--format", "csv"
    )
    big_rss, big_lines = peak_run(tmp_path, "big", "query", str(database), big, "--format", "csv")
    assert (small_lines, big_lines) == (2, ROWS + 1)
    assert big_rss - small_rss < 20_000, (small_rss, big_rss)


def interrupt_when_running(
    process: subprocess.Popen[bytes], started: Callable[[], bool], timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while not started():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the statement never started"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)


def test_ctrl_c_stops_the_running_statement(tmp_path: Path, make_db: MakeDb) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(a);")
    endless = (
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "dbinspect", "query", str(database), f"select 1 as x; {endless}",
         "--format", "csv"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), cwd=tmp_path,
    )  # fmt: skip
    assert process.stdout is not None
    first = process.stdout.read(len(b"x\r\n1\r\n"))  # statement 1 is out: statement 2 runs
    assert first == b"x\r\n1\r\n"
    interrupt_when_running(process, lambda: True)
    _, err = process.communicate(timeout=15)  # an endless statement not stopped would hang
    assert process.returncode == 130
    assert err.decode().strip().splitlines() == ["error: interrupted"]


# PostgreSQL -----------------------------------------------------------------------------


PG_DATA = """
CREATE TABLE t(id int PRIMARY KEY, v text, b bytea, n numeric, f float8);
INSERT INTO t VALUES
  (1, NULL, NULL, 1.50, 'Infinity'),
  (2, '', '\\x00ff'::bytea, -2, '-0'),
  (3, E'line one\\r\\nline two\\n', NULL, NULL, 0.1),
  (4, 'say "hi", then ''bye''', NULL, NULL, NULL),
  (5, E'caf\\u00e9 \\u6f22\\u5b57 \\u2028 \\U0001F600 \\u001b[31m', NULL, NULL, NULL);
"""


def test_pg_every_format_and_hostile_values(pg_url: str, tmp_path: Path) -> None:
    run_sql(pg_url, PG_DATA)
    sql = "select * from t order by id"
    rows = json_values(
        ok(run_bytes("query", pg_url, sql, "--format", "json", cwd=tmp_path)).decode()
    )[0]
    assert isinstance(rows, list)
    texts = [row["v"] for row in rows]
    assert texts == [value for (value,) in pg_query(pg_url, "select v from t order by id")]
    assert rows[1]["b"] == {"$blob": "00ff"}
    assert rows[0]["f"] == {"$real": "Infinity"} and rows[2]["f"] == 0.1
    assert rows[0]["n"] == "1.50"  # numeric as PostgreSQL prints it
    jsonl = ok(run_bytes("query", pg_url, sql, "--format", "jsonl", cwd=tmp_path))
    assert [json.loads(line) for line in jsonl.splitlines()] == rows
    csv_out = ok(run_bytes("query", pg_url, sql, "--format", "csv", cwd=tmp_path))
    # bytea as PostgreSQL's COPY writes it, as `export` writes it from PostgreSQL
    assert csv_out.startswith(b'id,v,b,n,f\r\n1,,,1.50,inf\r\n2,"",\\x00ff,-2,-0.0\r\n')
    assert b'3,"line one\r\nline two\n",,,0.1\r\n' in csv_out
    assert "\u2028 \U0001f600 \x1b[31m".encode() in csv_out
    table = ok(run_bytes("query", pg_url, "select id, v from t where id in (1, 5)", cwd=tmp_path))
    assert table.decode().split("\n")[2:] == [
        "  1 | NULL",
        "  5 | café 漢字 \u2028 😀 \\x1b[31m",
        "(2 rows)",
        "",
    ]


def test_pg_statements_writes_and_errors(
    pg_url: str, tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    run_sql(pg_url, "CREATE TABLE t(a int PRIMARY KEY)")
    one_line_error(run_cli("query", pg_url, "insert into t values (1)"), "read-only", "--write")
    sql = "insert into t values (1), (2); show server_encoding; select a from t order by a"
    out = ok(run_bytes("query", "--write", pg_url, sql, "--format", "csv", cwd=tmp_path))
    assert out == b"server_encoding\r\nUTF8\r\n\r\na\r\n1\r\n2\r\n"
    failed = run_cli("query", "--write", pg_url, "delete from t where a = 2;\nselect *\n  frm t")
    one_line_error(failed, "statement 2 (line 3:3)", 'syntax error at or near "frm"')
    assert "statement 1 ran, their changes committed" in failed.stderr
    assert pg_query(pg_url, "select a from t") == [(1,)]
    piped = run_bytes("query", pg_url, "-", "--format", "jsonl", cwd=tmp_path,
                      stdin="select a, 'é' as e from t;\nselect 2 as two".encode())  # fmt: skip
    assert ok(piped) == '{"a": 1, "e": "é"}\n{"two": 2}\n'.encode()
    truncate = run_cli("query", pg_url, "truncate t")
    one_line_error(truncate, "read-only")
    assert pg_query(pg_url, "select a from t") == [(1,)]


def test_pg_write_mode_keeps_a_database_read_only_by_default(
    pg_url: str, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    database = pg_url.rsplit("/", 1)[1]
    run_sql(pg_url, f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
    refused = run_cli("query", "--write", pg_url, "create table x (id int)")
    one_line_error(refused, "read-only by default")
    assert pg_query(pg_url, "select to_regclass('x') is null") == [(True,)]


def test_pg_statement_timeout_is_named(
    pg_url: str, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    database = pg_url.rsplit("/", 1)[1]
    run_sql(pg_url, f'ALTER DATABASE "{database}" SET statement_timeout = 200')
    one_line_error(run_cli("query", pg_url, "select pg_sleep(2)"), "statement_timeout")


def test_pg_large_result_streams_in_flat_memory(pg_url: str, tmp_path: Path) -> None:
    big = f"select i, repeat('x', 100) as pad from generate_series(1, {ROWS}) i"
    small_rss, _ = peak_run(tmp_path, "small", "query", pg_url, "select 1", "--format", "csv")
    big_rss, lines = peak_run(tmp_path, "big", "query", pg_url, big, "--format", "csv")
    assert lines == ROWS + 1
    assert big_rss - small_rss < 20_000, (small_rss, big_rss)


def test_pg_ctrl_c_cancels_the_statement_on_the_server(pg_url: str, tmp_path: Path) -> None:
    marker = "select pg_sleep(60) as dbinspect_query_test"

    def running() -> bool:
        found = pg_query(
            pg_url,
            "select count(*) from pg_stat_activity where state = 'active'"
            " and datname = current_database() and pid <> pg_backend_pid()",
        )
        return found[0][0] == 1

    process = subprocess.Popen(
        [sys.executable, "-m", "dbinspect", "query", pg_url, marker],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), cwd=tmp_path,
    )  # fmt: skip
    interrupt_when_running(process, running)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 130
    assert err.decode().strip().splitlines() == ["error: interrupted"]
    assert not running()


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
def test_pg_empty_result_in_each_format(pg_url: str, tmp_path: Path, fmt: str) -> None:
    out = ok(run_bytes("query", pg_url, "select 1 as a where false", "--format", fmt, cwd=tmp_path))
    expected = {"table": b" a\n---\n(0 rows)\n", "csv": b"a\r\n", "json": b"[]\n", "jsonl": b""}
    assert out == expected[fmt]
