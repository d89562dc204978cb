"""Tests PostgreSQL's statement rules: where statements end, and what a transaction refuses.

Statements must end exactly where the server ends them: a migration runs them one by one
inside its transaction, so a split inside a dollar-quoted body or a string would send the
server half a statement.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pg_migrate_helpers import ATUIN_POSTGRES, run_cli, tables, tracking_rows, write_folder
from pgkit import query, run_sql

from dbinspect.errors import MigrationError, MigrationFailedError
from dbinspect.migrate.pg_dialect import split_statements, transaction_refusal
from dbinspect.migrate.runner import invalid_indexes, migration_status, run_migrations
from dbinspect.url import parse_url

TRICKY = """\
-- a comment; with a semicolon
CREATE TABLE s1 (note text DEFAULT 'it''s; here');
/* a /* nested; */ comment; */
CREATE FUNCTION f2() RETURNS text LANGUAGE sql AS $$ SELECT 'a;b' $$;
CREATE FUNCTION f3() RETURNS text LANGUAGE plpgsql AS $body$
BEGIN
    RETURN $$in;ner$$ || E'\\';' || 'x';
END;
$body$;
CREATE FUNCTION f4() RETURNS int LANGUAGE sql
BEGIN ATOMIC
    SELECT 1;
    SELECT 4;
END;
INSERT INTO s1 VALUES (E'tab\\there; and a quote \\' ;'), (U&'d\\0061t;a');
CREATE TABLE "s;6" (x int) -- the last statement needs no semicolon
"""


def test_dollar_quotes_strings_comments_and_atomic_bodies_stay_whole() -> None:
    statements = split_statements(TRICKY)
    assert [s.number for s in statements] == [1, 2, 3, 4, 5, 6]
    assert [s.body.split(None, 2)[:2] for s in statements] == [
        ["CREATE", "TABLE"],
        ["CREATE", "FUNCTION"],
        ["CREATE", "FUNCTION"],
        ["CREATE", "FUNCTION"],
        ["INSERT", "INTO"],
        ["CREATE", "TABLE"],
    ]
    assert statements[2].sql.rstrip().endswith("$body$;")
    assert "SELECT 4;\nEND;" in statements[3].sql
    assert statements[0].sql.startswith("-- a comment; with a semicolon\n")  # kept with it
    assert "".join(s.sql for s in statements) + "\n" == TRICKY  # nothing lost or moved


def test_statements_run_one_by_one_do_what_the_whole_file_does(pg_url: str) -> None:
    # The server is the judge: each statement sent alone must parse and do its part.
    for statement in split_statements(TRICKY):
        run_sql(pg_url, statement.sql)
    assert query(pg_url, "SELECT f2(), f3(), f4()") == [("a;b", "in;ner';x", 4)]
    assert query(pg_url, "SELECT note FROM s1 ORDER BY note") == [
        ("dat;a",),
        ("tab\there; and a quote ' ;",),
    ]
    assert tables(pg_url) == {"s1", "s;6"}


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT $$a;b$$; SELECT 2", ["SELECT $$a;b$$;", "SELECT 2"]),
        ("SELECT $x$ $$;$$ $x$; SELECT 2;", ["SELECT $x$ $$;$$ $x$;", "SELECT 2;"]),
        ("SELECT E'\\';'; SELECT 2;", ["SELECT E'\\';';", "SELECT 2;"]),
        ("SELECT 1 -- ; not an end\n; SELECT 2", ["SELECT 1 -- ; not an end\n;", "SELECT 2"]),
        ("SELECT 1;;; SELECT 2", ["SELECT 1;", "SELECT 2"]),  # empty statements skipped
        ("SELECT 1; -- trailing comment\n", ["SELECT 1;"]),
        ("-- only a comment\n/* and; another */\n", []),
        # Not PostgreSQL (the server will say so); the scanner still splits at each `;`.
        ("SELECT 1; SELEC oops; SELECT 2;", ["SELECT 1;", "SELEC oops;", "SELECT 2;"]),
        # An unterminated quote hides every later `;` from the server too.
        ("SELECT 1; SELECT $$open; SELECT 2;", ["SELECT 1;", "SELECT $$open; SELECT 2;"]),
        ("SELECT 1; SELECT 'open; SELECT 2;", ["SELECT 1;", "SELECT 'open; SELECT 2;"]),
        ("SELECT 1; /* open; SELECT 2;", ["SELECT 1;", "/* open; SELECT 2;"]),
    ],
)
def test_split_points(sql: str, expected: list[str]) -> None:
    assert [s.body.strip() for s in split_statements(sql)] == expected


# A file PostgreSQL 15 runs but pglast (PostgreSQL 18's grammar) rejects: `system_user`
# became a reserved word in 16. Split by the scanner, as psql splits it.
NEWER_GRAMMAR_REJECTS = """\
CREATE TABLE audit (id int, system_user text);
CREATE TABLE audit_log (id int);
CREATE RULE r AS ON INSERT TO audit DO ALSO (
    INSERT INTO audit_log VALUES (NEW.id); INSERT INTO audit_log VALUES (-NEW.id)
);
CREATE FUNCTION two() RETURNS int LANGUAGE sql
BEGIN ATOMIC
    SELECT 1;
    SELECT CASE WHEN true THEN 2 END;
END;
CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO audit_log VALUES (9); END;
"""


def test_a_file_the_parser_rejects_is_split_as_psql_splits_it() -> None:
    statements = split_statements(NEWER_GRAMMAR_REJECTS)
    assert [s.body.split("(")[0].split()[:3] for s in statements] == [
        ["CREATE", "TABLE", "audit"],
        ["CREATE", "TABLE", "audit_log"],
        ["CREATE", "RULE", "r"],
        ["CREATE", "FUNCTION", "two"],
        ["CREATE", "OR", "REPLACE"],
    ]
    assert transaction_refusal(statements) is None  # the bodies' END is not a COMMIT
    assert split_statements("SELECT 1; SELEC 2; CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; END;")[
        -1
    ].body.startswith("CREATE FUNCTION")


def test_a_file_the_parser_rejects_runs_as_the_server_reads_it(pg_url: str, tmp_path: Path) -> None:
    sql = NEWER_GRAMMAR_REJECTS
    if query(pg_url, "SELECT current_setting('server_version_num')::int >= 160000") == [(True,)]:
        sql = sql.replace("system_user", '"system_user"')  # reserved there too
    folder = write_folder(tmp_path / "migrations", {"1_audit.sql": sql})
    result = run_cli("migrate", "run", "-D", pg_url, "--source", folder, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_sql(pg_url, "INSERT INTO audit VALUES (5, 'x'); CALL p()")
    assert query(pg_url, "SELECT two(), array_agg(id ORDER BY id) FROM audit_log") == [
        (2, [-5, 5, 9])
    ]


def test_atuin_trigger_files_split_into_whole_statements() -> None:
    path = ATUIN_POSTGRES / "20220419082412_add_count_trigger.sql"
    if not path.is_file():
        pytest.skip(f"corpus file missing: {path}")
    statements = split_statements(path.read_text())
    assert [s.label().split(":")[1].strip() for s in statements] == [
        "create table total_history_count_user(",
        "create or replace function user_history_count()",
        "create trigger tg_user_history_count",
    ]
    function = statements[1].sql
    assert function.count("$func$") == 2 and function.rstrip().endswith("cost 100;")
    for path in sorted(ATUIN_POSTGRES.glob("*.sql")):
        text = path.read_text()
        if "$" in text:  # every dollar-quoted body stays inside one statement
            for statement in split_statements(text):
                for tag in ("$func$", "$$"):
                    assert statement.sql.count(tag) % 2 == 0, (path.name, statement.number)


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN;",
        "/* a /* nested */ comment; */ BEGIN;",
        "begin transaction isolation level serializable;",
        "START TRANSACTION;",
        "COMMIT;",
        "END;",
        "ROLLBACK;",
        "ABORT;",
        "PREPARE TRANSACTION 'x';",
        "COMMIT PREPARED 'x';",
        "VACUUM;",
        "vacuum (analyze) t;",
        "CREATE INDEX CONCURRENTLY i ON t (x);",
        "create unique index concurrently if not exists i on t (x);",
        "DROP INDEX CONCURRENTLY i;",
        "REINDEX TABLE CONCURRENTLY t;",
        "REINDEX (VERBOSE) INDEX CONCURRENTLY i;",
        "REINDEX DATABASE d;",
        "REINDEX SCHEMA s;",
        "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;",
        "CREATE DATABASE d;",
        "DROP DATABASE d;",
        "ALTER SYSTEM SET work_mem = '1MB';",
        "CREATE TABLESPACE ts LOCATION '/tmp';",
        "ALTER DATABASE d SET TABLESPACE ts;",
        "CREATE SUBSCRIPTION s CONNECTION 'dbname=x' PUBLICATION p;",
        # Not parsable, yet its first words say what it is.
        "CREATE INDEX CONCURRENTLY ON oops oops (x);",
    ],
)
def test_refused_inside_the_transaction(sql: str) -> None:
    statements = split_statements(f"CREATE TABLE t (x int);\n{sql}\n")
    assert transaction_refusal(statements) == statements[1]


@pytest.mark.parametrize(
    "sql",
    [
        "SAVEPOINT a;",
        "ROLLBACK TO SAVEPOINT a;",
        "ROLLBACK TO a;",
        "RELEASE SAVEPOINT a;",
        "ANALYZE t;",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;",
        "REINDEX TABLE t;",
        "ALTER DATABASE d SET work_mem = '1MB';",
        "PREPARE q AS SELECT 1;",
        "CREATE INDEX i ON t (x);",
        'CREATE TABLE "concurrently" (x int);',
        "ALTER TABLE t ADD CONSTRAINT c CHECK (x::text <> 'detach concurrently');",
        "COMMENT ON TABLE t IS 'BEGIN; COMMIT; VACUUM';",
        "CREATE SUBSCRIPTION s CONNECTION 'dbname=x' PUBLICATION p WITH (connect = false);",
        "DO $$ BEGIN PERFORM 1; END $$;",
        "CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
    ],
)
def test_allowed_inside_the_transaction(sql: str) -> None:
    statements = split_statements(f"CREATE TABLE t (x int);\n{sql}\n")
    assert transaction_refusal(statements) is None


def test_savepoints_and_a_concurrent_refresh_run_in_the_migration(
    pg_url: str, tmp_path: Path
) -> None:
    folder = write_folder(
        tmp_path / "m",
        {
            "1_views.sql": (
                "CREATE TABLE t (x int PRIMARY KEY);\n"
                "CREATE MATERIALIZED VIEW mv AS SELECT x FROM t;\n"
                "CREATE UNIQUE INDEX ON mv (x);\n"
                "SAVEPOINT before_rows;\n"
                "INSERT INTO t VALUES (1);\n"
                "ROLLBACK TO SAVEPOINT before_rows;\n"
                "INSERT INTO t VALUES (2);\n"
                "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;\n"
            )
        },
    )
    run_migrations(parse_url(pg_url), folder)
    assert query(pg_url, "SELECT x FROM mv") == [(2,)]


@pytest.mark.parametrize(
    "statement",
    ["BEGIN;", "COMMIT;", "VACUUM;", "CREATE INDEX CONCURRENTLY ix ON a (x);"],
)
def test_a_refused_file_is_one_line_and_writes_nothing(
    pg_url: str, tmp_path: Path, statement: str
) -> None:
    write_folder(
        tmp_path / "migrations",
        {
            "1_ok.sql": "CREATE TABLE a (x int);\n",
            "2_bad.sql": f"CREATE TABLE b (x int);\n{statement}\nCREATE TABLE c (x int);\n",
        },
    )
    result = run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: 2_bad.sql: statement 2: {statement.rstrip(';')} cannot run")
    assert "`-- no-transaction`" in line  # the way out
    assert result.stdout == ""
    # Refused before anything ran: not even the first file or the tracking table.
    assert tables(pg_url) == set()


@pytest.mark.parametrize(
    "body",
    [
        "COPY c (a, b) FROM stdin;\n1\thello\n\\.\n",
        "COPY c FROM STDIN WITH (FORMAT csv);\n",
        "COPY (SELECT 1) TO STDOUT;\n",
        "-- no-transaction\nCOPY c (a, b) FROM stdin;\n1\thello\n\\.\n",
    ],
)
def test_copy_with_the_client_is_refused_before_anything_runs(
    pg_url: str, tmp_path: Path, body: str
) -> None:
    write_folder(
        tmp_path / "migrations",
        {
            "1_ok.sql": "CREATE TABLE c (a int, b text);\n",
            "2_copy.sql": body if body.startswith("--") else f"SELECT 1;\n{body}",
        },
    )
    result = run_cli("migrate", "run", "-D", pg_url, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: 2_copy.sql: statement ") and "(STDIN/STDOUT)" in line, line
    assert tables(pg_url) == set()


@pytest.mark.parametrize(
    "sql", ["COPY c FROM '/srv/c.csv';", "COPY c TO PROGRAM 'gzip > /tmp/c.gz';", "SELECT 'stdin';"]
)
def test_copy_with_a_server_file_is_left_to_the_server(sql: str) -> None:
    from dbinspect.migrate.pg_dialect import client_refusal

    assert client_refusal(split_statements(sql)) is None


def test_a_no_transaction_file_builds_an_index_concurrently(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "m",
        {
            "1_table.sql": "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1), (2);\n",
            "2_index.sql": "-- no-transaction\nCREATE INDEX CONCURRENTLY a_x ON a (x);\n",
        },
    )
    url = parse_url(pg_url)
    assert [r.version for r in run_migrations(url, folder)] == [1, 2]
    assert query(pg_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'a_x'::regclass") == [
        (True,)
    ]
    assert [r[:3] for r in tracking_rows(pg_url)] == [(1, "table", True), (2, "index", True)]
    assert invalid_indexes(url) == []


def test_a_failed_concurrent_build_is_reported_as_invalid(pg_url: str, tmp_path: Path) -> None:
    write_folder(
        tmp_path / "migrations",
        {
            "1_table.sql": "CREATE TABLE a (x int);\nINSERT INTO a VALUES (1), (1);\n",
            "2_unique.sql": "-- no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY a_x ON a (x);\n",
        },
    )
    url = parse_url(pg_url)
    with pytest.raises(MigrationFailedError) as caught:
        run_migrations(url, tmp_path / "migrations")
    assert caught.value.statement.startswith("statement 1: CREATE UNIQUE INDEX CONCURRENTLY")
    assert "INVALID indexes are left: public.a_x" in caught.value.message
    assert [r[0] for r in tracking_rows(pg_url)] == [1]  # not recorded as applied

    [index] = invalid_indexes(url)
    assert (index.schema, index.name, index.table) == ("public", "a_x", "a")
    assert index.definition == "CREATE UNIQUE INDEX a_x ON public.a USING btree (x)"

    info = run_cli("migrate", "info", "-D", pg_url, cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert info.stdout.splitlines() == ["1/installed table", "2/pending unique"]
    [warning] = info.stderr.splitlines()
    assert warning.startswith("warning: index public.a_x on a is INVALID")
    assert "DROP INDEX CONCURRENTLY public.a_x" in warning
    as_json = run_cli("migrate", "info", "--json", "-D", pg_url, cwd=tmp_path)
    assert as_json.stdout.startswith("[") and "INVALID" in as_json.stderr

    # Repaired as the warning says, the migration applies and the warning goes.
    run_sql(pg_url, "DROP INDEX CONCURRENTLY public.a_x")
    run_sql(pg_url, "DELETE FROM a WHERE ctid = (SELECT max(ctid) FROM a)")
    assert [r.version for r in run_migrations(url, tmp_path / "migrations")] == [2]
    assert invalid_indexes(url) == []
    assert run_cli("migrate", "info", "-D", pg_url, cwd=tmp_path).stderr == ""


def test_a_no_transaction_file_of_several_statements_is_one_implicit_transaction(
    pg_url: str, tmp_path: Path
) -> None:
    folder = write_folder(
        tmp_path / "m",
        {"1_nt.sql": "-- no-transaction\nCREATE TABLE a (x int);\nINSERT INTO nope VALUES (1);\n"},
    )
    with pytest.raises(MigrationFailedError, match="one implicit transaction, rolled back"):
        run_migrations(parse_url(pg_url), folder)
    assert tables(pg_url) == {"_sqlx_migrations"}  # as sqlx sends it: a is rolled back too
    assert tracking_rows(pg_url) == []
    assert [s.status for s in migration_status(parse_url(pg_url), folder)] == ["pending"]


def test_nul_is_refused_before_running(pg_url: str, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", {"1_nul.sql": "CREATE TABLE a (x text);\n\0\n"})
    with pytest.raises(MigrationError, match="NUL character, which PostgreSQL text"):
        run_migrations(parse_url(pg_url), folder)
    assert tables(pg_url) == set()


async def test_invalid_indexes_for_the_app(pg_url: str, tmp_path: Path) -> None:
    from dbinspect.migrate import aio

    run_sql(pg_url, 'CREATE SCHEMA "s p"; CREATE TABLE "s p".t (x int); '
            'INSERT INTO "s p".t VALUES (1), (1)')  # fmt: skip
    with pytest.raises(Exception, match="could not create unique index"):
        run_sql(pg_url, 'CREATE UNIQUE INDEX CONCURRENTLY "i x" ON "s p".t (x)')
    [index] = await aio.invalid_indexes(parse_url(pg_url))
    assert (index.schema, index.name, index.table) == ("s p", "i x", '"s p".t')
    assert 'DROP INDEX CONCURRENTLY "s p"."i x")' in index.warning()
    # SQLite has no invalid indexes, and nothing is opened to say so.
    missing = tmp_path / "none.db"
    assert await aio.invalid_indexes(parse_url(f"sqlite:{missing}")) == []
    assert not missing.exists()


async def test_an_index_being_built_concurrently_is_not_called_invalid(pg_url: str) -> None:
    import asyncio
    import threading
    import time

    import psycopg

    from dbinspect.migrate import aio

    run_sql(pg_url, "CREATE TABLE t (id int PRIMARY KEY, k int)")
    with psycopg.connect(pg_url, autocommit=True) as writer:
        # A concurrent build waits for this open write: its index is invalid meanwhile.
        writer.execute("BEGIN")
        writer.execute("INSERT INTO t VALUES (1, 1)")
        build = threading.Thread(
            target=run_sql, args=(pg_url, "CREATE INDEX CONCURRENTLY t_k ON t (k)")
        )
        build.start()
        try:
            deadline = time.monotonic() + 30
            while query(pg_url, "SELECT to_regclass('t_k') IS NOT NULL") != [(True,)]:
                assert time.monotonic() < deadline, "the concurrent build never started"
                await asyncio.sleep(0.05)
            state = "SELECT indisvalid FROM pg_index WHERE indexrelid = 't_k'::regclass"
            assert query(pg_url, state) == [(False,)]
            assert await aio.invalid_indexes(parse_url(pg_url)) == []
        finally:
            writer.execute("ROLLBACK")
            build.join(timeout=60)


def test_a_file_after_standard_conforming_strings_off_runs_as_the_server_reads_it(
    pg_url: str, tmp_path: Path
) -> None:
    folder = write_folder(
        tmp_path / "migrations",
        {
            "1_scs.sql": "CREATE TABLE t (x text);\nSET standard_conforming_strings = off;\n",
            # With the setting off, \\' is a quote inside the string, not its end.
            "2_use.sql": "INSERT INTO t VALUES ('a\\'; b'); INSERT INTO t VALUES ('c');\n",
        },
    )
    assert "a\\'; b" in (folder / "2_use.sql").read_text()  # one backslash
    result = run_cli("migrate", "run", "-D", pg_url, "--source", folder, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert query(pg_url, "SELECT x FROM t ORDER BY x") == [("a'; b",), ("c",)]
