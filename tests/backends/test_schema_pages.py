"""The schema-page reader agrees with SQLite, and hands back to it on anything odd."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from dbinspect.backends import SqliteBackend
from dbinspect.backends.sqlite_pages import read_schema_names
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

LONG = "n" * 3000


def sqlite_names(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return sorted(conn.execute("SELECT type, name, tbl_name FROM sqlite_schema").fetchall())
    finally:
        conn.close()


def build(path: Path, tables: int, *, page_size: int = 4096) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA page_size = {page_size}")
    with conn:
        for i in range(tables):
            conn.execute(f'CREATE TABLE "t {i} ""q""" (id INTEGER PRIMARY KEY, v TEXT UNIQUE)')
            conn.execute(f'CREATE INDEX "ix{i}" ON "t {i} ""q"""(v)')
            if i % 7 == 0:
                conn.execute(f'CREATE VIEW "v{i}" AS SELECT 1')
                conn.execute(
                    f'CREATE TRIGGER "tr{i}" AFTER INSERT ON "t {i} ""q""" BEGIN SELECT 1; END'
                )
        conn.execute("CREATE TABLE ünïcødé_☃ (x)")
    conn.close()
    return path


@pytest.mark.parametrize("page_size", [512, 4096, 65536])
def test_names_match_sqlite_across_interior_pages(tmp_path: Path, page_size: int) -> None:
    path = build(tmp_path / "many.db", 400, page_size=page_size)
    names = read_schema_names(path)
    assert names is not None
    assert sorted(names) == sqlite_names(path)


def test_a_name_in_overflow_pages_hands_back_to_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "long.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA page_size = 512")
    conn.execute(f'CREATE TABLE "{LONG}" (x)')
    conn.commit()
    conn.close()
    assert read_schema_names(path) is None


def test_pending_wal_hands_back_to_sqlite(tmp_path: Path) -> None:
    path = build(tmp_path / "wal.db", 3)
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode = WAL")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("CREATE TABLE only_in_wal (x)")
    writer.commit()
    try:
        assert read_schema_names(path) is None
    finally:
        writer.close()


def test_utf16_database_hands_back_to_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "utf16.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA encoding = 'UTF-16le'")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    assert read_schema_names(path) is None


def test_flipped_bytes_never_raise_and_never_loop(tmp_path: Path) -> None:
    original = build(tmp_path / "orig.db", 60, page_size=1024)
    data = bytearray(original.read_bytes())
    rng = random.Random(7)
    truth = sqlite_names(original)
    for attempt in range(150):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            # Aim at the first pages, where the schema b-tree lives.
            damaged[rng.randrange(100, min(len(damaged), 16 * 1024))] = rng.randrange(256)
        target = tmp_path / f"damaged{attempt}.db"
        target.write_bytes(bytes(damaged))
        names = read_schema_names(target)
        assert names is None or all(len(row) == 3 for row in names)
        target.unlink()
    assert (
        read_schema_names(original) is not None
        and sorted(read_schema_names(original) or []) == truth
    )


async def test_backend_quick_outline_then_full_schema(tmp_path: Path) -> None:
    path = build(tmp_path / "app.db", 20)
    backend = await SqliteBackend.open(parse_url(str(path)), probe=False)
    try:
        quick = await backend.quick_outline()
        assert quick is not None
        full = await backend.schema()
        assert [(o.kind, o.name) for o in quick.objects] == [(o.kind, o.name) for o in full.objects]
        assert all(o.sql is None for o in quick.objects)
        assert await backend.quick_outline() is None  # the full schema is known now
    finally:
        await backend.aclose()


def test_reading_pages_leaves_the_folder_unchanged(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = build(folder / "x.db", 5)
    before = sorted(p.name for p in folder.iterdir())
    copy = tmp_path / "copy.db"
    shutil.copyfile(path, copy)
    assert read_schema_names(path) is not None
    assert sorted(p.name for p in folder.iterdir()) == before
    assert path.read_bytes() == copy.read_bytes()
