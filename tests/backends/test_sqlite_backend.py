"""Tests the SQLite backend: facts, hardening, counts, paging, and leaving files untouched."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from header_pragmas import HEADER_PRAGMAS

from dbinspect.backends import SqliteBackend, open_backend, quote_identifier
from dbinspect.errors import ConnectError, QueryError
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

SAMPLE = '''
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE);
CREATE TABLE "odd ""name"""(a, b);
CREATE TABLE pairs(k1 TEXT, k2 INTEGER, v, PRIMARY KEY (k1, k2)) WITHOUT ROWID;
CREATE VIEW user_names AS SELECT name FROM users ORDER BY id;
CREATE INDEX users_name ON users(name);
CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN SELECT 1; END;
PRAGMA user_version = 42;
PRAGMA application_id = 1234;
'''


def fill(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO users(name, email) VALUES (?, ?)",
            [(f"user{i:03}", f"u{i}@x") for i in range(1, 251)],
        )
        conn.executemany(
            "INSERT INTO pairs VALUES (?, ?, ?)",
            [(k, n, f"{k}{n}") for k in "abc" for n in range(5)],
        )
        conn.execute('''INSERT INTO "odd ""name""" VALUES ('it''s', '[/]')''')
    conn.close()


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file in `folder`, keyed by name (the listing and the bytes)."""
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in sorted(os.listdir(folder))
    }


def file_state(path: Path) -> tuple[str, int, int]:
    """Resolved path, size and mtime (ns) of a file."""
    info = path.stat()
    return str(path.resolve()), info.st_size, info.st_mtime_ns


def copy_without_shm(db: Path, folder: Path) -> Path:
    """Copy a database and its `-wal` (not its `-shm`) into a new folder."""
    folder.mkdir()
    (folder / db.name).write_bytes(db.read_bytes())
    (folder / f"{db.name}-wal").write_bytes(Path(f"{db}-wal").read_bytes())
    return folder


@pytest.fixture
def sample(tmp_path: Path, make_db: Callable[..., Path]) -> Path:
    path = make_db(tmp_path, SAMPLE, "sample.db")
    fill(path)
    return path


@pytest.fixture
async def backend(sample: Path) -> AsyncIterator[SqliteBackend]:
    opened = await SqliteBackend.open(parse_url(f"sqlite:{sample}"))
    try:
        yield opened
    finally:
        await opened.aclose()


def pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


# --- Facts -----------------------------------------------------------------------------


async def test_facts_match_sqlite(sample: Path, backend: SqliteBackend) -> None:
    facts = await backend.facts()
    resolved, size, _ = file_state(sample)
    assert facts.path == resolved
    assert facts.size_bytes == size
    assert facts.wal_size_bytes is None
    assert facts.sqlite_version == sqlite3.sqlite_version
    for name in HEADER_PRAGMAS:
        assert getattr(facts, name) == pragma(sample, name), name
    assert facts.user_version == 42
    assert facts.application_id == 1234
    assert facts.page_size * facts.page_count == facts.size_bytes
    assert facts.read_only is True
    assert facts.permissions == "-rw-r--r--" or (facts.permissions or "").startswith("-rw")
    assert facts.owner and ":" in facts.owner
    counts = facts.counts
    assert (counts.tables, counts.views, counts.indexes, counts.triggers) == (3, 1, 1, 1)
    assert counts.virtual_tables == 0
    # The UNIQUE on users.email is an autoindex in sqlite_schema (a WITHOUT ROWID key is not).
    assert counts.internal == 1


async def test_facts_are_frozen(backend: SqliteBackend) -> None:
    facts = await backend.facts()
    with pytest.raises(AttributeError):
        facts.page_size = 1  # type: ignore[misc]


async def test_in_memory_database() -> None:
    opened = await open_backend(parse_url("sqlite::memory:"))
    try:
        facts = await opened.facts()
        assert facts.path is None
        assert facts.size_bytes == 0
        assert facts.journal_mode == "memory"
        assert (await opened.schema()).objects == ()
    finally:
        await opened.aclose()


async def test_open_backend_takes_postgres_urls_to_the_postgresql_backend() -> None:
    # Nothing listens on port 1: the PostgreSQL backend's own one-line refusal, password hidden.
    with pytest.raises(ConnectError, match="nothing is listening there") as refused:
        await open_backend(parse_url("postgres://u:pw@127.0.0.1:1/db"))
    assert "pw" not in refused.value.one_line()


# --- Hardening -------------------------------------------------------------------------


async def test_inspection_connection_is_hardened(backend: SqliteBackend) -> None:
    expected = {"trusted_schema": 0, "cell_size_check": 1, "mmap_size": 0, "query_only": 1}
    for name, value in expected.items():
        async with backend._conn.execute(f"PRAGMA {name}") as cursor:
            row = await cursor.fetchone()
        assert row is not None and row[0] == value, name


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH DATABASE ':memory:' AS other",
        "PRAGMA writable_schema = ON",
        "SELECT load_extension('nothing')",
        "INSERT INTO users(name) VALUES ('x')",
        "CREATE TABLE planted(x)",
    ],
)
async def test_inspection_connection_refuses_writes_and_escapes(
    sample: Path, backend: SqliteBackend, sql: str
) -> None:
    before = snapshot(sample.parent)
    with pytest.raises(sqlite3.Error):
        await backend._conn.execute(sql)
    assert snapshot(sample.parent) == before


async def test_inspection_changes_nothing(sample: Path) -> None:
    before = snapshot(sample.parent)
    _, _, mtime = file_state(sample)
    opened = await SqliteBackend.open(parse_url(f"sqlite:{sample}"))
    await opened.facts()
    await opened.schema()
    for table in ("users", "pairs", "user_names", 'odd "name"'):
        await opened.row_count(table)
        await opened.fetch_rows(table, limit=10)
        await opened.fetch_rows(table, before=(), limit=10)
    await opened.aclose()
    assert snapshot(sample.parent) == before
    assert file_state(sample)[2] == mtime
    assert pragma(sample, "journal_mode") == "delete"


# --- Counts ----------------------------------------------------------------------------


async def test_row_count_and_estimate(backend: SqliteBackend) -> None:
    assert (await backend.row_count("users")).value == 250
    assert (await backend.row_count("users")).exact
    assert (await backend.row_count("pairs")).value == 15
    assert (await backend.row_count("user_names")).value == 250
    assert (await backend.row_count('odd "name"')).value == 1
    small = await backend.row_estimate("users")
    assert (small.value, small.exact) == (250, True)
    view = await backend.row_estimate("user_names")
    assert (view.value, view.exact) == (250, True)
    without_rowid = await backend.row_estimate("pairs")
    assert (without_rowid.value, without_rowid.exact) == (15, True)


async def test_row_estimate_is_cheap_for_big_rowids(tmp_path: Path, make_db: Callable[..., Path]):
    path = make_db(
        tmp_path, "CREATE TABLE big(x); INSERT INTO big(rowid, x) VALUES (1, 'a'), (5000000, 'b');"
    )
    opened = await SqliteBackend.open(parse_url(str(path)))
    try:
        estimate = await opened.row_estimate("big")
        assert (estimate.value, estimate.exact) == (5_000_000, False)
        exact = await opened.row_count("big")
        assert (exact.value, exact.exact) == (2, True)
    finally:
        await opened.aclose()


async def test_row_count_of_missing_table_is_a_query_error(backend: SqliteBackend) -> None:
    with pytest.raises(QueryError, match="no such table"):
        await backend.row_count("missing")
    with pytest.raises(QueryError):
        await backend.fetch_rows("missing")


# --- Paging ----------------------------------------------------------------------------


async def test_rowid_paging_forward_and_back(backend: SqliteBackend) -> None:
    first = await backend.fetch_rows("users", limit=100)
    assert first.key_columns == ("rowid",)
    assert first.columns == ("id", "name", "email")
    assert [r[1] for r in first.rows] == [f"user{i:03}" for i in range(1, 101)]
    assert first.keys == tuple((i,) for i in range(1, 101))
    second = await backend.fetch_rows("users", after=first.keys[-1], limit=100)
    third = await backend.fetch_rows("users", after=second.keys[-1], limit=100)
    assert [k[0] for k in second.keys] == list(range(101, 201))
    assert [k[0] for k in third.keys] == list(range(201, 251))
    beyond = await backend.fetch_rows("users", after=third.keys[-1], limit=100)
    assert beyond.rows == ()
    last = await backend.fetch_rows("users", before=(), limit=30)
    assert [k[0] for k in last.keys] == list(range(221, 251))
    back = await backend.fetch_rows("users", before=last.keys[0], limit=30)
    assert [k[0] for k in back.keys] == list(range(191, 221))
    start = await backend.fetch_rows("users", before=(3,), limit=30)
    assert [k[0] for k in start.keys] == [1, 2]


async def test_without_rowid_pages_on_the_primary_key(backend: SqliteBackend) -> None:
    page = await backend.fetch_rows("pairs", limit=4)
    assert page.key_columns == ("k1", "k2")
    assert page.keys == (("a", 0), ("a", 1), ("a", 2), ("a", 3))
    nxt = await backend.fetch_rows("pairs", after=page.keys[-1], limit=4)
    assert nxt.keys == (("a", 4), ("b", 0), ("b", 1), ("b", 2))
    assert [r[2] for r in nxt.rows] == ["a4", "b0", "b1", "b2"]
    last = await backend.fetch_rows("pairs", before=(), limit=2)
    assert last.keys == (("c", 3), ("c", 4))
    prev = await backend.fetch_rows("pairs", before=("b", 0), limit=2)
    assert prev.keys == (("a", 3), ("a", 4))


async def test_views_page_by_offset(backend: SqliteBackend) -> None:
    first = await backend.fetch_rows("user_names", limit=10)
    assert first.key_columns == ("offset",)
    assert first.columns == ("name",)
    assert first.keys == tuple((i,) for i in range(10))
    nxt = await backend.fetch_rows("user_names", after=first.keys[-1], limit=10)
    assert [r[0] for r in nxt.rows] == [f"user{i:03}" for i in range(11, 21)]
    last = await backend.fetch_rows("user_names", before=(), limit=5)
    assert [r[0] for r in last.rows] == [f"user{i:03}" for i in range(246, 251)]
    assert last.keys[0] == (245,)
    prev = await backend.fetch_rows("user_names", before=last.keys[0], limit=5)
    assert [r[0] for r in prev.rows] == [f"user{i:03}" for i in range(241, 246)]


async def test_hostile_table_name_and_values_are_bound(backend: SqliteBackend) -> None:
    page = await backend.fetch_rows('odd "name"')
    assert page.rows == (("it's", "[/]"),)
    assert quote_identifier('odd "name"') == '"odd ""name"""'


async def test_change_marker_moves_when_another_connection_writes(
    sample: Path, backend: SqliteBackend
) -> None:
    before = await backend.change_marker()
    conn = sqlite3.connect(sample)
    with conn:
        conn.execute("INSERT INTO users(name) VALUES ('late')")
    after_data = await backend.change_marker()
    with conn:
        conn.execute("CREATE TABLE later(x)")
    conn.close()
    after_schema = await backend.change_marker()
    assert after_data[0] != before[0]
    assert after_data[1] == before[1]
    assert after_schema[1] != after_data[1]


# --- WAL: committed rows in the -wal are seen, and nothing is changed -------------------

WRITER = textwrap.dedent(
    """
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t(v) VALUES (?)", [(f"row{i}",) for i in range(500)])
    conn.execute("COMMIT")
    print("ready", flush=True)
    time.sleep(60)
    """
)


def make_wal_base(path: Path) -> None:
    """A WAL database whose main file holds the table and 10 checkpointed rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t(v) VALUES (?)", [(f"base{i}",) for i in range(10)])
    conn.close()  # the last close checkpoints and removes -wal and -shm


def start_writer(path: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


async def inspect_all(path: Path) -> tuple[int, list[str], str]:
    opened = await SqliteBackend.open(parse_url(f"sqlite:{path}"))
    try:
        count = (await opened.row_count("t")).value
        last = await opened.fetch_rows("t", before=(), limit=3)
        facts = await opened.facts()
        return count, [str(r[1]) for r in last.rows], facts.journal_mode
    finally:
        await opened.aclose()


@pytest.fixture
def wal_db(tmp_path: Path) -> Path:
    folder = tmp_path / "wal"
    folder.mkdir()
    path = folder / "app.db"
    make_wal_base(path)
    assert sorted(os.listdir(folder)) == ["app.db"]
    return path


async def test_wal_with_a_live_writer(wal_db: Path) -> None:
    proc = start_writer(wal_db)
    try:
        assert (wal_db.parent / "app.db-wal").stat().st_size > 0
        before = snapshot(wal_db.parent)
        count, last, mode = await inspect_all(wal_db)
        assert count == 510
        assert last == ["row497", "row498", "row499"]
        assert mode == "wal"
        after = snapshot(wal_db.parent)
        assert sorted(after) == sorted(before)
        assert after["app.db"] == before["app.db"]
        assert after["app.db-wal"] == before["app.db-wal"]
    finally:
        proc.kill()
        proc.wait()


async def test_wal_after_the_writer_was_killed(wal_db: Path) -> None:
    proc = start_writer(wal_db)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert sorted(os.listdir(wal_db.parent)) == ["app.db", "app.db-shm", "app.db-wal"]
    before = snapshot(wal_db.parent)
    count, last, _ = await inspect_all(wal_db)
    assert count == 510
    assert last[-1] == "row499"
    after = snapshot(wal_db.parent)
    assert sorted(after) == sorted(before)
    assert after["app.db"] == before["app.db"]
    assert after["app.db-wal"] == before["app.db-wal"]
    # A second inspection still sees the rows: nothing was checkpointed away or lost.
    assert (await inspect_all(wal_db))[0] == 510


async def test_wal_without_shm_is_read_from_a_private_copy(
    wal_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc = start_writer(wal_db)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    fresh = copy_without_shm(wal_db, tmp_path / "copied")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before = snapshot(fresh)
    count, last, mode = await inspect_all(fresh / "app.db")
    assert count == 510
    assert last[-1] == "row499"
    assert mode == "wal"
    assert snapshot(fresh) == before
    assert os.listdir(scratch) == []  # the private copy is removed on close


async def test_wal_database_without_wal_file_creates_nothing(wal_db: Path) -> None:
    before = snapshot(wal_db.parent)
    count, _, mode = await inspect_all(wal_db)
    assert count == 10
    assert mode == "wal"
    assert snapshot(wal_db.parent) == before
    assert sorted(os.listdir(wal_db.parent)) == ["app.db"]


async def test_wal_database_with_empty_wal_file(wal_db: Path) -> None:
    (wal_db.parent / "app.db-wal").write_bytes(b"")
    before = snapshot(wal_db.parent)
    count, _, _ = await inspect_all(wal_db)
    assert count == 10
    assert snapshot(wal_db.parent) == before


async def test_wal_facts_report_the_wal_size(wal_db: Path) -> None:
    proc = start_writer(wal_db)
    try:
        opened = await SqliteBackend.open(parse_url(str(wal_db)))
        try:
            facts = await opened.facts()
        finally:
            await opened.aclose()
        assert facts.wal_size_bytes == (wal_db.parent / "app.db-wal").stat().st_size
        assert facts.wal_size_bytes > 0
    finally:
        proc.kill()
        proc.wait()


async def test_cancelling_an_open_at_any_point_leaves_no_connection_thread(
    sample: Path,
) -> None:
    # An aiosqlite connection's thread is not a daemon: one left open keeps the process
    # from exiting. Cancel the open later and later until it gets to finish.
    import threading

    def connection_threads() -> int:
        return sum(1 for t in threading.enumerate() if "_connection_worker" in t.name)

    baseline = connection_threads()
    delays = [steps / 10_000 for steps in range(400)]  # 0.1 ms apart up to 40 ms, then
    delays += [0.04 * 1.5**k for k in range(1, 12)]  # longer, for a slower machine's open
    for delay in delays:
        task = asyncio.ensure_future(open_backend(parse_url(str(sample))))
        await asyncio.sleep(delay)
        if task.done():
            await (await task).aclose()
            break
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            backend = await task
            await backend.aclose()
        for _ in range(1000):  # the thread ends soon after; 10 s only catches a leak
            if connection_threads() == baseline:
                break
            await asyncio.sleep(0.01)
        assert connection_threads() == baseline, f"cancelled after {delay * 1000:.1f} ms"
    else:
        pytest.fail(f"the open never finished, even given {delays[-1]:.1f} s")
