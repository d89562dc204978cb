"""Where the console's statements are in a buffer, and what kind each one is."""

from __future__ import annotations

import pytest

from dbinspect.query.statements import Dialect, statement_at, statements_in

SQLITE_BUFFER = """-- the top customers
SELECT 1;  /* between */ SELECT ';' AS semi, "a;b" FROM t;
CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; DELETE FROM u; END;
select 3"""

PG_BUFFER = """SELECT $$a;b$$;
SELECT $f$ ; $f$ AS x;
CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;
DROP TABLE x ;; TRUNCATE t"""


def test_sqlite_statements_keep_strings_comments_and_trigger_bodies_whole() -> None:
    found = statements_in(SQLITE_BUFFER, "sqlite")
    assert [s.sql for s in found] == [
        "SELECT 1",
        "SELECT ';' AS semi, \"a;b\" FROM t",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = 1; DELETE FROM u; END",
        "select 3",
    ]
    assert [s.number for s in found] == [1, 2, 3, 4]
    for statement in found:
        # `start` is the first token (after comments); `end` is past the `;`, if any.
        assert SQLITE_BUFFER[statement.start :].startswith(statement.sql)
        assert SQLITE_BUFFER[statement.start : statement.end].rstrip(";").rstrip() == (
            statement.sql
        )
    assert SQLITE_BUFFER[found[0].end - 1] == ";"
    assert found[-1].end == len(SQLITE_BUFFER)  # a trailing statement without `;`


def test_postgres_statements_keep_dollar_quotes_and_atomic_bodies_whole() -> None:
    found = statements_in(PG_BUFFER, "postgres")
    assert [s.sql for s in found] == [
        "SELECT $$a;b$$",
        "SELECT $f$ ; $f$ AS x",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
        "DROP TABLE x",
        "TRUNCATE t",
    ]  # the empty statement of `;;` is left out
    assert [s.number for s in found] == [1, 2, 3, 4, 5]
    assert found[-1].end == len(PG_BUFFER)


@pytest.mark.parametrize("buffer", ["", "   \n", "-- only a comment\n", ";;"])
@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_buffer_without_statements(buffer: str, dialect: Dialect) -> None:
    assert statements_in(buffer, dialect) == []
    assert statement_at(buffer, 0, dialect) is None


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_the_statement_under_the_cursor(dialect: Dialect) -> None:
    buffer = "-- head\nSELECT 1;  /* c */ SELECT 'x;y' AS v;\n\nSELECT 3"
    first, second, third = statements_in(buffer, dialect)

    def at(offset: int) -> str | None:
        found = statement_at(buffer, offset, dialect)
        return found.sql if found else None

    assert at(0) == first.sql  # in the leading comment: the first statement
    assert at(buffer.index("1")) == first.sql
    assert at(first.end) == first.sql  # just after its `;`
    assert at(buffer.index("/* c */") + 2) == first.sql  # between: the one before
    assert at(second.start) == second.sql
    assert at(buffer.index("x;y") + 1) == second.sql  # the `;` inside the string
    assert at(second.end + 1) == second.sql  # the blank line after it
    assert at(buffer.index("SELECT 3") + 3) == third.sql
    assert at(len(buffer)) == third.sql  # the end of a statement without `;`


def test_the_cursor_inside_a_trigger_body_is_the_whole_trigger() -> None:
    offset = SQLITE_BUFFER.index("DELETE FROM u")
    found = statement_at(SQLITE_BUFFER, offset, "sqlite")
    assert found is not None and found.keyword == "CREATE" and found.sql.endswith("END")


def test_the_cursor_inside_a_dollar_quote() -> None:
    offset = PG_BUFFER.index("$f$ ;") + 4
    found = statement_at(PG_BUFFER, offset, "postgres")
    assert found is not None and found.number == 2


@pytest.mark.parametrize(
    ("sql", "asks"),
    [
        ("DROP TABLE t", True),
        ("drop view v", True),
        ("  TRUNCATE t", True),
        ("ALTER TABLE t ADD COLUMN c", True),
        ("DELETE FROM t", False),
        ("SELECT 'DROP TABLE t'", False),
        ("INSERT INTO drop_log VALUES (1)", False),
    ],
)
def test_destroying_statements_ask_first(sql: str, asks: bool) -> None:
    (found,) = statements_in(sql, "postgres")
    assert found.asks_first is asks
    (found,) = statements_in(sql, "sqlite")
    assert found.asks_first is asks


@pytest.mark.parametrize(
    ("sql", "controls"),
    [
        ("BEGIN", True),
        ("commit", True),
        ("END", True),
        ("ROLLBACK TO SAVEPOINT a", True),
        ("SAVEPOINT a", True),
        ("RELEASE a", True),
        ("START TRANSACTION READ WRITE", True),
        ("ABORT", True),
        ("SET TRANSACTION READ WRITE", True),
        ("set session characteristics as transaction read write", True),
        ("PREPARE TRANSACTION 'x'", True),
        ("SET search_path = public", False),
        ("SELECT 'commit'", False),
        ("PREPARE q AS SELECT 1", False),
    ],
)
def test_statements_that_control_the_transaction(sql: str, controls: bool) -> None:
    (found,) = statements_in(sql, "postgres")
    assert found.controls_transaction is controls


@pytest.mark.parametrize(
    ("sql", "ordered"),
    [
        ("SELECT * FROM t ORDER BY a", True),
        ("SELECT * FROM t order\n   by a", True),
        ("SELECT * FROM t", False),
        ("SELECT 'order by' FROM t", False),
        ('SELECT "order by" FROM t', False),
        ("SELECT a -- order by a\nFROM t", False),
        ("SELECT a /* order by a */ FROM t", False),
        ("SELECT $$ order by $$ FROM t", False),
        ("SELECT $q$ order by $q$ FROM t", False),
        ("SELECT $$x$$ FROM t ORDER BY 1", True),
        ("SELECT * FROM t WHERE border BY", False),
    ],
)
def test_ordered_looks_outside_strings_and_comments(sql: str, ordered: bool) -> None:
    (found,) = statements_in(sql, "postgres")
    assert found.ordered is ordered


def test_a_label_names_the_statement_by_its_first_line() -> None:
    (found,) = statements_in("-- c\nSELECT a,\n  b FROM t", "sqlite")
    assert found.label() == "statement 1: SELECT a,"
    (long,) = statements_in("SELECT " + "x" * 100, "sqlite")
    assert long.label().endswith("...") and len(long.label()) == len("statement 1: ") + 60
