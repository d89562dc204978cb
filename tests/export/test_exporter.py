"""Exporting a relation as browsed: every row in order, bounded memory, never half a file."""

from __future__ import annotations

import asyncio
import collections
import csv
import dataclasses
import io
import json
import math
import os
import stat
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.browse.protocol import Relation
from dbinspect.errors import DbInspectError
from dbinspect.export.encode import decode_json_value
from dbinspect.export.exporter import ExportError, default_target, export_to_file
from dbinspect.models import Filter, RowQuery
from dbinspect.sqlite_driver import dbapi as sqlite3

MIXED = [
    (1, None, 0, "plain"),
    (2, "", -(1 << 63), 'it\'s, "quoted"\r\nover lines'),
    (3, b"\x00\xff", (1 << 63) - 1, "nul\x00inside"),
    (4, math.inf, -0.0, "caf\u00e9"),
    (5, -math.inf, 0.1, "\u2028"),
]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / "rows.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE mixed(id INTEGER PRIMARY KEY, a, b, c TEXT)")
    conn.executemany("INSERT INTO mixed VALUES (?, ?, ?, ?)", MIXED)
    conn.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, grp INTEGER, payload TEXT)")
    conn.executemany(
        "INSERT INTO big(grp, payload) VALUES (?, ?)",
        ((i % 4, f"row {i:07d} " + "x" * 80) for i in range(200_000)),
    )
    conn.execute("CREATE VIEW odd AS SELECT id, payload FROM big WHERE id % 2 = 1")
    conn.commit()
    conn.close()
    return path


def filtered(condition: Filter, **sort: Any) -> RowQuery:
    """A query under `condition` (filters were one optional filter before they were a tuple)."""
    if "filters" in {field.name for field in dataclasses.fields(RowQuery)}:
        return RowQuery(filters=(condition,), **sort)  # type: ignore[call-arg,unused-ignore]
    return RowQuery(filter=condition, **sort)  # type: ignore[call-arg,unused-ignore]


def all_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


async def test_csv_of_every_kind_of_value(backend: SqliteBackend, tmp_path: Path) -> None:
    target = tmp_path / "mixed.csv"
    count = await export_to_file(backend, Relation(None, "mixed"), RowQuery(), "csv", target)
    assert count == len(MIXED)
    data = target.read_bytes()
    assert data.startswith(b'id,a,b,c\r\n1,,0,plain\r\n2,"",-9223372036854775808,')
    parsed = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert parsed[1:] == [
        ["1", "", "0", "plain"],
        ["2", "", "-9223372036854775808", 'it\'s, "quoted"\r\nover lines'],
        ["3", "X'00FF'", "9223372036854775807", "nul\x00inside"],
        ["4", "inf", "-0.0", "caf\u00e9"],
        ["5", "-inf", "0.1", "\u2028"],
    ]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []


async def test_json_lines_read_back_to_the_same_rows(
    backend: SqliteBackend, tmp_path: Path
) -> None:
    target = tmp_path / "mixed.jsonl"
    await export_to_file(backend, Relation(None, "mixed"), RowQuery(), "jsonl", target)
    lines = target.read_text("utf-8").splitlines()
    decoded = [tuple(decode_json_value(v) for v in json.loads(line).values()) for line in lines]
    assert [tuple(map(repr, row)) for row in decoded] == [tuple(map(repr, r)) for r in MIXED]


async def test_sql_inserts_rebuild_the_table(backend: SqliteBackend, tmp_path: Path) -> None:
    target = tmp_path / "mixed.sql"
    await export_to_file(backend, Relation(None, "mixed"), RowQuery(), "sql", target)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE mixed(id INTEGER PRIMARY KEY, a, b, c TEXT)")
    conn.executescript(target.read_bytes().decode("utf-8"))
    rows = conn.execute("SELECT id, a, b, c, typeof(a), typeof(b) FROM mixed ORDER BY id")
    got = [tuple(map(repr, row)) for row in rows]
    conn.close()
    kinds = [
        ("'null'", "'integer'"), ("'text'", "'integer'"), ("'blob'", "'integer'"),
        ("'real'", "'real'"), ("'real'", "'real'"),
    ]  # fmt: skip
    assert got == [(*map(repr, r), *k) for r, k in zip(MIXED, kinds, strict=True)]


async def test_a_view_exports_filtered_and_sorted_as_browsed(
    backend: SqliteBackend, database: Path, tmp_path: Path
) -> None:
    query = filtered(Filter("payload", "like", "%4 x%"), sort_column="payload", descending=True)
    target = tmp_path / "odd.csv"
    pages: list[int] = []
    count = await export_to_file(
        backend, Relation(None, "odd"), query, "csv", target, on_progress=pages.append
    )
    conn = sqlite3.connect(database)
    expected = conn.execute(
        "SELECT id, payload FROM odd WHERE payload LIKE '%4 x%' ORDER BY payload DESC"
    ).fetchall()
    conn.close()
    assert count == len(expected) == 20_000
    lines = target.read_text().splitlines()
    assert lines[0] == "id,payload"
    assert lines[1:] == [f"{i},{p}" for i, p in expected]
    assert pages == list(range(1000, 20_001, 1000))


async def test_a_filtered_table_streams_in_bounded_memory(
    backend: SqliteBackend, tmp_path: Path
) -> None:
    target = tmp_path / "big.jsonl"
    query = filtered(Filter("payload", "like", "row%"))
    tracemalloc.start()
    try:
        count = await export_to_file(backend, Relation(None, "big"), query, "jsonl", target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    size = target.stat().st_size
    assert size > 25_000_000
    assert peak < size / 10, (peak, size)
    with target.open() as lines:
        [last] = collections.deque(lines, maxlen=1)
    assert json.loads(last) == {"id": 200_000, "grp": 3, "payload": "row 0199999 " + "x" * 80}


async def test_cancel_leaves_no_file_and_keeps_the_old_one(
    backend: SqliteBackend, tmp_path: Path
) -> None:
    target = tmp_path / "big.csv"
    target.write_text("the previous export\n")
    first_page = asyncio.Event()
    task = asyncio.create_task(
        export_to_file(
            backend,
            Relation(None, "big"),
            RowQuery(),
            "csv",
            target,
            on_progress=lambda _: first_page.set(),
        )
    )
    await first_page.wait()
    assert len(leftovers(tmp_path)) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(tmp_path) == []
    assert target.read_text() == "the previous export\n"


async def test_a_read_error_leaves_no_file(backend: SqliteBackend, tmp_path: Path) -> None:
    target = tmp_path / "missing.csv"
    with pytest.raises(DbInspectError):
        await export_to_file(backend, Relation(None, "no_such"), RowQuery(), "csv", target)
    assert all_files(tmp_path) == []


async def test_a_planted_symlink_is_replaced_not_written_through(
    backend: SqliteBackend, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    target = tmp_path / "mixed.csv"
    target.symlink_to(victim)
    await export_to_file(backend, Relation(None, "mixed"), RowQuery(), "csv", target)
    assert victim.read_text() == "keep me\n"
    assert not target.is_symlink()
    assert target.read_bytes().startswith(b"id,a,b,c\r\n")


async def test_unwritable_targets_say_which(backend: SqliteBackend, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="is a directory"):
        await export_to_file(backend, Relation(None, "mixed"), RowQuery(), "csv", tmp_path)
    missing = tmp_path / "no" / "such" / "dir.csv"
    with pytest.raises(ExportError, match=r"cannot write .*dir\.csv"):
        await export_to_file(backend, Relation(None, "mixed"), RowQuery(), "csv", missing)


def test_default_target_is_the_table_name_made_safe(tmp_path: Path) -> None:
    assert default_target(Relation(None, "events"), "jsonl", tmp_path) == tmp_path / "events.jsonl"
    odd = default_target(Relation(None, "../..\x00/.hidden\nname"), "csv", tmp_path)
    assert odd.parent == tmp_path
    assert odd.name == "_..__.hidden_name.csv"
    assert os.sep not in odd.name
