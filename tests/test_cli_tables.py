"""`export`'s TABLE read as SQL reads a name, on SQLite files (PostgreSQL's: tests/postgres)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from testkit import MakeDb, RunCli

from dbinspect.cli_tables import sql_name_parts

OneLineError = Callable[..., str]

TABLES = """
CREATE TABLE s(which TEXT); INSERT INTO s VALUES ('table s');
CREATE TABLE "main.s"(which TEXT); INSERT INTO "main.s" VALUES ('table main.s');
CREATE TABLE "a.b"(which TEXT); INSERT INTO "a.b" VALUES ('table a.b');
CREATE TABLE Mixed(which TEXT); INSERT INTO Mixed VALUES ('table Mixed');
CREATE TABLE "odd ""name"" x"(which TEXT); INSERT INTO "odd ""name"" x" VALUES ('odd');
CREATE VIEW v AS SELECT 'view v' AS which;
"""


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("s", "table s"),
        ("main.s", "table s"),  # schema main, as SQL reads it
        ("MAIN.S", "table s"),  # SQLite matches names ignoring case
        ('"main"."s"', "table s"),
        ('main."s"', "table s"),
        ('"main.s"', "table main.s"),  # quoted: one exact name
        ("[main.s]", "table main.s"),
        ("`main.s`", "table main.s"),
        ("a.b", "table a.b"),  # no schema a: the whole text as one name
        ('"a.b"', "table a.b"),
        ("mixed", "table Mixed"),
        ("MIXED", "table Mixed"),
        ('"odd ""name"" x"', "odd"),
        ('odd "name" x', "odd"),  # not a name SQL reads: the exact name
        ("main.v", "view v"),
    ],
)
def test_export_reads_table_as_sql_reads_a_name(
    name: str, rows: str, tmp_path: Path, make_db: MakeDb, run_cli: RunCli
) -> None:
    database = make_db(tmp_path, TABLES)
    result = run_cli("export", database, name, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f'{{"which": "{rows}"}}\n'


def test_a_name_that_finds_nothing_is_said_as_given(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    database = make_db(tmp_path, TABLES)
    for name in ("temp.s", '"main"."nothing"', "nothing"):
        one_line_error(run_cli("export", database, name), f"no such table or view: {name}")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("t", ["t"]),
        ("s.t", ["s", "t"]),
        (' "S" . "a.b" ', ["S", "a.b"]),
        ('"a""b"', ['a"b']),
        ("[a]]b]", None),  # brackets have no escape: `]b]` is left over
        ("`a``b`", ["a`b"]),
        ("a.b.c", ["a", "b", "c"]),
        ('"unclosed', None),
        ("a..b", None),
        ("a.", None),
        ("", None),
        ("a b", None),
        ('a"b', None),
    ],
)
def test_sql_name_parts(text: str, parts: list[str] | None) -> None:
    assert sql_name_parts(text, quotes='"`[') == parts
