"""Every SQLite value survives each export format: parsed back, or run by SQLite."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbinspect.export.encode import (
    csv_field,
    csv_record,
    decode_json_value,
    file_bytes,
    integer_text,
    json_bytes,
    json_keys,
    json_line,
    sql_insert,
    sql_insert_prefix,
)
from dbinspect.models import Value
from dbinspect.sqlite_driver import dbapi as sqlite3

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
EDGE_VALUES: list[Value] = [
    None, 0, -1, INT64_MAX, INT64_MIN, 0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324,
    1.7976931348623157e308, "", "'", '"', ",", "\r\n", "a\x00b", "\x00", "\x00\x00'", b"",
    b"\x00", "\udcff", "caf\udcc3", "\u202e", "NULL",
]  # fmt: skip

texts = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("\x00',\"\r\n ab\u00e9\u202e")),
    # Text that was not UTF-8 in the database, as Python holds it (surrogateescape).
    st.binary().map(lambda raw: raw.decode("utf-8", "surrogateescape")),
)
values: st.SearchStrategy[Value] = st.one_of(
    st.none(),
    st.integers(min_value=INT64_MIN, max_value=INT64_MAX),
    st.floats(),
    texts,
    st.binary(max_size=64),
    st.sampled_from(EDGE_VALUES),
)
rows = st.lists(st.lists(values, min_size=3, max_size=3), min_size=1, max_size=8)
SETTINGS = settings(max_examples=150, deadline=None)


def same(left: Value, right: Value) -> bool:
    """Equal in type and value; -0.0 is not 0.0, NaN is NaN."""
    if isinstance(left, float) and isinstance(right, float):
        return repr(left) == repr(right)
    return type(left) is type(right) and left == right


def csv_text(value: Value) -> str:
    """What a CSV reader should see for `value` (CSV has no types)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return "X'" + value.hex().upper() + "'"
    return str(value)


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8", "surrogateescape"), newline="")))


@SETTINGS
@given(rows)
def test_csv_parses_back_to_the_same_text(table: list[list[Value]]) -> None:
    data = file_bytes("".join(csv_record(row) for row in table))
    assert parse_csv(data) == [[csv_text(value) for value in row] for row in table]


def test_csv_tells_null_from_empty_text_and_quotes_as_rfc_4180() -> None:
    assert csv_record([None, "", "a,b", 'say "hi"', "two\nlines"]) == (
        ',"","a,b","say ""hi""","two\nlines"\r\n'
    )
    assert [csv_field(v) for v in (math.inf, -math.inf, math.nan, -0.0, b"\x00\xff")] == [
        "inf", "-inf", "nan", "-0.0", "X'00FF'",
    ]  # fmt: skip


def strict_loads(line: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(line, parse_constant=refuse)


@SETTINGS
@given(rows)
def test_json_lines_parse_strictly_back_to_the_same_values(table: list[list[Value]]) -> None:
    keys = json_keys(["a", "b", "a"])
    data = json_bytes("".join(json_line(keys, row) for row in table))
    lines = data.decode("ascii" if data.isascii() else "utf-8").splitlines()
    assert len(lines) == len(table)
    for line, row in zip(lines, table, strict=True):
        parsed = strict_loads(line)
        assert isinstance(parsed, dict)
        assert list(parsed) == ["a", "b", "a:2"]
        decoded = [decode_json_value(v) for v in parsed.values()]
        assert all(same(d, v) for d, v in zip(decoded, row, strict=True)), (decoded, row)


def test_json_keeps_huge_integers_exact_and_tags_what_json_cannot_hold() -> None:
    huge = 7**6000  # past Python's 4,300-digit str() limit
    line = json_line(json_keys(["n", "b", "r"]), [huge, b"\x01", -math.inf])
    assert line == (
        '{"n": ' + integer_text(huge) + ', "b": {"$blob": "01"}, "r": {"$real": "-Infinity"}}\n'
    )
    assert integer_text(huge).lstrip("-") == integer_text(-huge).lstrip("-")
    assert len(integer_text(huge)) == int(6000 * math.log10(7)) + 1


def load_sql(script: bytes, ncolumns: int) -> list[list[tuple[str, Value]]]:
    """Run `script` into a fresh untyped table; its rows as (typeof, value) pairs."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
    columns = [f"c{i}" for i in range(ncolumns)]
    conn.execute(f"CREATE TABLE t({', '.join(columns)})")
    conn.executescript(script.decode("utf-8"))
    select = ", ".join(f"typeof({c}), {c}" for c in columns)
    found = [
        [(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        for row in conn.execute(f"SELECT {select} FROM t ORDER BY rowid")
    ]
    conn.close()
    return found


def sqlite_type(value: Value) -> tuple[str, Value]:
    """What SQLite stores for `value`: NaN is NULL."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ("null", None)
    kind = {int: "integer", float: "real", str: "text", bytes: "blob"}[type(value)]
    return (kind, value)


def sql_script(table: Sequence[Sequence[Value]]) -> bytes:
    prefix = sql_insert_prefix("t", [f"c{i}" for i in range(len(table[0]))])
    return file_bytes("BEGIN;\n" + "".join(sql_insert(prefix, row) for row in table) + "COMMIT;\n")


@SETTINGS
@given(rows)
def test_sql_inserts_give_identical_rows(table: list[list[Value]]) -> None:
    found = load_sql(sql_script(table), 3)
    expected = [[sqlite_type(v) for v in row] for row in table]
    assert len(found) == len(expected)
    for got_row, want_row in zip(found, expected, strict=True):
        for (got_type, got), (want_type, want) in zip(got_row, want_row, strict=True):
            assert got_type == want_type and same(got, want), (got_type, got, want_type, want)


def test_sql_edge_values_and_a_large_blob() -> None:
    blob = bytes(range(256)) * 8192  # 2 MiB
    row: list[Value] = [INT64_MIN, INT64_MAX, -0.0, math.inf, -math.inf, math.nan, "a\x00'b", blob]
    [found] = load_sql(sql_script([row]), len(row))
    assert found == [
        ("integer", INT64_MIN), ("integer", INT64_MAX), ("real", -0.0), ("real", math.inf),
        ("real", -math.inf), ("null", None), ("text", "a\x00'b"), ("blob", blob),
    ]  # fmt: skip
    assert math.copysign(1.0, found[2][1]) == -1.0  # type: ignore[arg-type]


def test_sql_keeps_the_digits_of_an_integer_sqlite_cannot_store() -> None:
    [found] = load_sql(sql_script([[1 << 64, -(1 << 70)]]), 2)
    assert found == [("text", str(1 << 64)), ("text", str(-(1 << 70)))]


def test_sql_quotes_identifiers() -> None:
    prefix = sql_insert_prefix('we"ird', ['a"b', "c d"], schema="main")
    assert prefix == 'INSERT INTO "main"."we""ird"("a""b", "c d") VALUES('


@pytest.mark.skipif(not Path("/usr/bin/sqlite3").exists(), reason="no sqlite3 shell")
def test_the_sqlite3_shell_reads_the_sql_export(tmp_path: Path) -> None:
    import subprocess

    database = tmp_path / "shell.db"
    row: list[Value] = [INT64_MIN, -0.0, math.inf, "it's\x00here", b"\x00\xff", None]
    conn = sqlite3.connect(database)
    conn.execute("CREATE TABLE t(c0, c1, c2, c3, c4, c5)")
    conn.commit()
    conn.close()
    subprocess.run(["/usr/bin/sqlite3", str(database)], input=sql_script([row]), check=True)
    [found] = load_from(database)
    assert found == [sqlite_type(v) for v in row]


def load_from(database: Path) -> list[list[tuple[str, Value]]]:
    conn = sqlite3.connect(database)
    select = ", ".join(f"typeof(c{i}), c{i}" for i in range(6))
    found = [
        [(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        for row in conn.execute(f"SELECT {select} FROM t")
    ]
    conn.close()
    return found
