"""Tests that statements split where SQLite ends them, whatever quotes and comments hold."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbinspect.migrate.statements import (
    Statement,
    _statement_ends,
    split_statements,
    strip_leading_comments,
)
from dbinspect.sqlite_driver import dbapi as sqlite3

# Pieces that move sqlite3_complete's state machine: every quote (closed, holding a `;`,
# or left open), both comments (closed or open), the words it knows in any case, words
# that only look like them, and its exact whitespace (\v is not whitespace to it).
SEMICOLONS_AND_SPACE = [";", ";", ";", " ", "\n", "\t", "\f", "\r", "\v"]
QUOTES = ["'", '"', "`", "[", "]", "'a;b'", '"c;d"', "`e;f`", "[g;h]", "''", "'it''s;'"]
COMMENTS = ["--", "-- c;\n", "-", "/", "*", "/*", "*/", "/* c; */", "/**/", "/*/"]
KEYWORDS = ["CREATE", "create", "Create", "TEMP", "temp", "TEMPORARY", "TRIGGER", "trigger"]
MORE_KEYWORDS = ["END", "end", "EXPLAIN", "explain", "BEGIN", "SELECT 1"]
LOOKALIKES = ["x", "1", "$", "_", "é", "3create", "create_", "endx", "trigger$", "énd"]
PUNCTUATION = ["(", ")", ","]
TRIGGERS = [
    "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; SELECT 'a;'; END;",
    "CREATE TEMP TRIGGER t BEGIN DELETE FROM x; END",
    "EXPLAIN CREATE TRIGGER",
]
FRAGMENTS = [
    *SEMICOLONS_AND_SPACE,
    *QUOTES,
    *COMMENTS,
    *KEYWORDS,
    *MORE_KEYWORDS,
    *LOOKALIKES,
    *PUNCTUATION,
    *TRIGGERS,
]
scripts = st.lists(st.sampled_from(FRAGMENTS), max_size=30).map(" ".join) | st.lists(
    st.sampled_from(FRAGMENTS), max_size=30
).map("".join)


def ends_by_complete_statement(sql: str) -> list[int]:
    """The former definition: a `;` ends a statement if the text since the last end is complete."""
    ends, start = [], 0
    for index, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[start : index + 1]):
            ends.append(index + 1)
            start = index + 1
    return ends


def statements_by_complete_statement(sql: str) -> list[Statement]:
    """The former `split_statements`, on the standard library's sqlite3."""
    statements: list[Statement] = []
    pending = ""
    for piece in sql.split(";")[:-1]:
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            _append_like_before(statements, pending)
            pending = ""
    pending += sql.rsplit(";", 1)[-1] if ";" in sql else sql
    _append_like_before(statements, pending)
    return statements


def _append_like_before(statements: list[Statement], text: str) -> None:
    body = strip_leading_comments(text)
    if body.strip().rstrip(";").strip():
        statements.append(Statement(len(statements) + 1, text, body))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scripts)
def test_split_points_match_sqlite_complete_statement(sql: str) -> None:
    assert list(_statement_ends(sql)) == ends_by_complete_statement(sql)
    assert split_statements(sql) == statements_by_complete_statement(sql)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=60))
def test_split_points_match_on_any_text(sql: str) -> None:
    assert list(_statement_ends(sql)) == ends_by_complete_statement(sql)


def test_split_examples_at_the_edges() -> None:
    assert list(_statement_ends("select 1; select 2;")) == [9, 19]
    assert list(_statement_ends("select 'a;b; select 2;")) == []  # open quote runs to the end
    assert list(_statement_ends("select 1 /* ; */; /* open ;")) == [17]
    assert list(_statement_ends("-- only a comment;\nselect 1;")) == [28]
    trigger = "create temporary trigger t after insert on x begin select 1; end;"
    assert list(_statement_ends(trigger + "select 2;")) == [len(trigger), len(trigger) + 9]
    assert list(_statement_ends("explain create trigger t begin select 1; end; x;")) == [45, 48]
    assert list(_statement_ends("create trigger_x; y;")) == [17, 20]  # not the keyword


def big_insert(kilobytes: int) -> str:
    row = "('a;b;c;d', 'e;f', \"g;h\", [i;j], 1),\n"
    rows = (row * (kilobytes * 1024 // len(row))).rstrip(",\n")
    return f"CREATE TABLE t(a, b, c, d, e);\nINSERT INTO t VALUES {rows};\nSELECT 1;\n"


def test_a_big_insert_with_semicolons_inside_quotes_is_one_statement() -> None:
    # About 60,000 `;` inside quotes. The time it takes (linear in the size; the former
    # split took 13 s) is measured by benchmarks/bench_split.py.
    sql = big_insert(400)
    statements = split_statements(sql)
    assert [s.keyword for s in statements] == ["CREATE", "INSERT", "SELECT"]
    assert "".join(s.sql for s in statements) == sql.rstrip("\n")
    assert statements[1].sql.count(";") == sql.count(";") - 2
