"""A large export read and written by worker processes, one part of the rows each.

The parts run on small tables here: `parts_wanted` is set to ask for three (a middle part
has both a first row and a row count), and every file is compared byte for byte with the
one-pass export of the same rows (`parts_wanted` set to one).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.backends.sqlite_files import plan_read_only_open
from dbinspect.backends.sqlite_stream import WORKER
from dbinspect.browse.protocol import Relation, RowSplitter, SplitRead
from dbinspect.export import split
from dbinspect.export.encode import Format
from dbinspect.export.exporter import export_to_file
from dbinspect.models import Filter, RowQuery
from dbinspect.query.console import ConsoleSession, open_console
from dbinspect.query.pager import RESULT, ResultPager
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

ROWS = 3_000
BIG_ROWS = 600_000
FORMATS: list[Format] = ["csv", "jsonl", "sql"]

INTEGERS = [None, 0, -(1 << 63), (1 << 63) - 1, 7, -1]
REALS = [0.1, -0.0, 1e300, None, 2.5, -1e-300, 0.0]
TEXTS = [
    "",
    'it\'s, "quoted"\r\nover lines',
    "caf\u00e9 \u2713 \U0001d11e",
    None,
    "a,b",
    "\r",
    "\u2028 line\nfeed",
    "plain",
]
BLOBS = [b"", b"\x00\xff", None, bytes(range(256)), b"text?"]


def mixed_row(i: int) -> tuple[Any, ...]:
    return (
        i,
        INTEGERS[i % len(INTEGERS)],
        REALS[i % len(REALS)],
        TEXTS[i % len(TEXTS)] if i % 13 else f"row {i}",
        BLOBS[i % len(BLOBS)],
        i % 5,
    )


def build_mixed(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, r REAL, s TEXT, b BLOB, grp)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", map(mixed_row, range(1, ROWS + 1)))
    # Infinities as SQLite stores them from a literal out of range.
    conn.execute("UPDATE t SET r = 9e999 WHERE id % 11 = 0")
    conn.execute("UPDATE t SET r = -9e999 WHERE id % 17 = 0")
    conn.execute("CREATE VIEW v AS SELECT grp, s, id FROM t WHERE id % 3 <> 0")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("split") / "rows.db"
    conn = sqlite3.connect(path)
    build_mixed(conn)
    conn.execute("CREATE TABLE latin(id INTEGER PRIMARY KEY, word TEXT)")
    conn.executemany("INSERT INTO latin(word) VALUES (?)", ((f"w{i}",) for i in range(ROWS)))
    # Text that is not UTF-8 (latin-1 bytes), in the middle part and in the last one.
    conn.execute("UPDATE latin SET word = CAST(X'636166E9' AS TEXT) WHERE id IN (1500, 2900)")
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def big_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("split_big") / "big.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, grp INTEGER, payload TEXT)")
    conn.execute(
        "INSERT INTO big(grp, payload) "
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
        "SELECT x % 4, printf('row %07d ', x) || hex(randomblob(24)) FROM c",
        (BIG_ROWS,),
    )
    conn.commit()
    conn.close()
    return path


def set_parts(monkeypatch: pytest.MonkeyPatch, parts: int) -> None:
    monkeypatch.setattr(split, "parts_wanted", lambda rows: parts)


def all_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


def worker_children() -> list[int]:
    """This process's children running the split worker (read from /proc)."""
    found = []
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = next(
            (line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), ""
        )
        if ppid == me and b"sqlite_split_worker" in cmdline:
            found.append(int(entry.name))
    return found


class Counting:
    """A progress callback that also notes whether the target existed at each call."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.calls: list[int] = []
        self.target_seen = False

    def __call__(self, rows: int) -> None:
        self.calls.append(rows)
        self.target_seen = self.target_seen or self.target.exists()


async def export_bytes(
    pager: Any,
    relation: Relation,
    query: RowQuery,
    fmt: Format,
    target: Path,
    monkeypatch: pytest.MonkeyPatch,
    parts: int,
) -> tuple[int, bytes, Counting]:
    set_parts(monkeypatch, parts)
    progress = Counting(target)
    count = await export_to_file(pager, relation, query, fmt, target, on_progress=progress)
    return count, await asyncio.to_thread(target.read_bytes), progress


async def in_parts(
    pager: Any, relation: Relation, query: RowQuery, folder: Path, name: str = "direct.csv"
) -> int | None:
    """What `export_in_parts` itself returns (None: not done in parts), into a file named
    like the export's own temporary file."""
    target = folder / f".{name}.0123abcd.part"
    out = await asyncio.to_thread(target.open, "wb")
    try:
        return await split.export_in_parts(pager, relation, query, "csv", out, target)
    finally:
        out.close()
        target.unlink()


ALL = RowQuery()
QUERIES = [
    RowQuery(),
    RowQuery(filters=(Filter("grp", ">=", 2),), sort_column="s", descending=True),
    RowQuery(filters=(Filter("s", "like", "%a%"), Filter("n", "is not null")), sort_column="r"),
    RowQuery(sort_column="b"),
]


def test_the_backend_splits(backend: SqliteBackend) -> None:
    assert isinstance(backend, RowSplitter)


def test_parts_wanted() -> None:
    assert split.parts_wanted(0) == 1
    assert split.parts_wanted(split.SPLIT_MIN_ROWS - 1) == 1
    assert 1 <= split.parts_wanted(10 * split.SPLIT_MIN_ROWS) <= split.MAX_PARTS
    assert split.parts_wanted(10**12) == min(split.MAX_PARTS, os.cpu_count() or 1)


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("fmt", FORMATS)
async def test_parts_equal_one_pass(
    backend: SqliteBackend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: Format,
    query: RowQuery,
) -> None:
    relation = Relation(None, "t")
    target = tmp_path / f"t.{fmt}"
    one_count, one, _ = await export_bytes(backend, relation, query, fmt, target, monkeypatch, 1)
    target.unlink()
    count, parted, progress = await export_bytes(
        backend, relation, query, fmt, target, monkeypatch, 3
    )
    assert count == one_count
    assert parted == one
    if query.filters:
        assert 100 < count < ROWS
    else:
        assert count == ROWS
    # It was done in parts, not by the fallback: the same three parts say so directly.
    assert await in_parts(backend, relation, query, tmp_path) == count
    assert not progress.target_seen
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []
    assert worker_children() == []


@pytest.mark.parametrize(
    "query", [RowQuery(), RowQuery(sort_column="grp", descending=True)], ids=["plain", "ties"]
)
async def test_a_view_in_parts_equals_one_pass(
    backend: SqliteBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, query: RowQuery
) -> None:
    """A view is read by position: every part runs the same statement, ties and all."""
    relation = Relation(None, "v")
    target = tmp_path / "v.csv"
    _, one, _ = await export_bytes(backend, relation, query, "csv", target, monkeypatch, 1)
    count, parted, _ = await export_bytes(backend, relation, query, "csv", target, monkeypatch, 3)
    assert count == ROWS - ROWS // 3 and parted == one
    assert await in_parts(backend, relation, query, tmp_path) == count


async def test_every_kind_of_value_survives_the_parts(
    backend: SqliteBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t.csv"
    _, parted, _ = await export_bytes(
        backend, Relation(None, "t"), RowQuery(), "sql", target, monkeypatch, 3
    )
    text = parted.decode("utf-8")
    assert text.startswith("BEGIN;\n") and text.endswith("COMMIT;\n")
    assert text.count("BEGIN;") == 1 and text.count("COMMIT;") == 1
    for fragment in ("-9223372036854775808", "9223372036854775807", "1e999", "-1e999"):
        assert fragment in text, fragment
    assert "caf\u00e9 \u2713 \U0001d11e" in text
    assert "x'00ff'" in text.lower()


async def test_more_parts_than_rows(
    backend: SqliteBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    relation = Relation(None, "t")
    query = RowQuery(filters=(Filter("id", "<=", 2),))
    target = tmp_path / "few.jsonl"
    _, one, _ = await export_bytes(backend, relation, query, "jsonl", target, monkeypatch, 1)
    count, parted, _ = await export_bytes(backend, relation, query, "jsonl", target, monkeypatch, 4)
    assert count == 2 and parted == one
    none = RowQuery(filters=(Filter("id", "<", 0),))
    _, one, _ = await export_bytes(backend, relation, none, "csv", target, monkeypatch, 1)
    count, parted, _ = await export_bytes(backend, relation, none, "csv", target, monkeypatch, 3)
    assert count == 0 and parted == one and parted.count(b"\r\n") == 1


@pytest.mark.parametrize("fmt", FORMATS)
async def test_text_not_utf8_falls_back_to_one_pass(
    backend: SqliteBackend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: Format,
) -> None:
    relation = Relation(None, "latin")
    set_parts(monkeypatch, 3)
    assert await in_parts(backend, relation, RowQuery(), tmp_path) is None  # a part exits 3
    target = tmp_path / f"latin.{fmt}"
    count, parted, _ = await export_bytes(
        backend, relation, RowQuery(), fmt, target, monkeypatch, 3
    )
    target.unlink()
    one_count, one, _ = await export_bytes(
        backend, relation, RowQuery(), fmt, target, monkeypatch, 1
    )
    assert count == one_count == ROWS
    assert parted == one
    assert parted.count(b"caf\\xe9") == 2 or parted.count(b"caf\\\\xe9") == 2
    assert leftovers(tmp_path) == []
    assert worker_children() == []


@pytest.mark.parametrize("journal", ["delete", "wal"])
async def test_a_commit_as_the_parts_begin_falls_back_to_one_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, journal: str
) -> None:
    path = tmp_path / "changing.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    build_mixed(conn)
    conn.commit()  # in WAL mode the open connection keeps -wal and -shm: opened `ro`

    class CommitAfterPlan:
        """The backend, with another connection committing just after the plan."""

        def __init__(self, backend: SqliteBackend) -> None:
            self.backend = backend

        async def split_read(self, relation: Relation, query: RowQuery) -> SplitRead | None:
            read = await self.backend.split_read(relation, query)
            conn.execute("INSERT INTO t(id, s) VALUES (?, 'late')", (ROWS + 1,))
            conn.commit()
            return read

    set_parts(monkeypatch, 3)
    backend = await SqliteBackend.open(parse_url(str(path)))
    try:
        assert backend._plan is not None and backend._plan.strategy == "ro"
        relation = Relation(None, "t")
        assert await in_parts(backend, relation, RowQuery(), tmp_path) == ROWS
        assert await in_parts(CommitAfterPlan(backend), relation, RowQuery(), tmp_path) is None
        assert await in_parts(backend, relation, RowQuery(), tmp_path) == ROWS + 1
    finally:
        await backend.aclose()
        conn.close()
    assert worker_children() == []


async def test_a_cancelled_export_leaves_no_file_and_no_worker(
    big_database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_parts(monkeypatch, 3)
    backend = await SqliteBackend.open(parse_url(str(big_database)))
    try:
        target = tmp_path / "big.csv"
        progressed = asyncio.Event()
        seen: list[int] = []
        during: list[list[int]] = []

        def progress(rows: int) -> None:
            seen.append(rows)
            if not progressed.is_set():
                during.append(worker_children())
            progressed.set()

        task = asyncio.ensure_future(
            export_to_file(
                backend,
                Relation(None, "big"),
                RowQuery(sort_column="payload"),
                "csv",
                target,
                on_progress=progress,
            )
        )
        await asyncio.wait_for(progressed.wait(), 60)
        assert len(during[0]) == 3  # the three parts were running
        assert len(leftovers(tmp_path)) == 3  # the export's file and two parts of its own
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert 0 < seen[-1] < BIG_ROWS
        assert all_files(tmp_path) == []  # neither the export nor a part of it
        assert worker_children() == []
        # The backend still reads.
        page = await backend.fetch_page(Relation(None, "big"), RowQuery(), limit=2)
        assert [row[0] for row in page.rows] == [1, 2]
    finally:
        await backend.aclose()


async def test_a_large_export_in_parts(
    big_database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress from every part adds up; the parts are joined in order."""
    set_parts(monkeypatch, 3)
    backend = await SqliteBackend.open(parse_url(str(big_database)))
    try:
        target = tmp_path / "big.csv"
        progress = Counting(target)
        count = await export_to_file(
            backend, Relation(None, "big"), RowQuery(), "csv", target, on_progress=progress
        )
    finally:
        await backend.aclose()
    assert count == BIG_ROWS
    assert progress.calls and progress.calls[-1] == BIG_ROWS
    assert progress.calls == sorted(progress.calls)
    assert not progress.target_seen
    lines = target.read_bytes().split(b"\r\n")
    assert lines[0] == b"id,grp,payload" and lines[-1] == b""
    assert [int(line.split(b",")[0]) for line in lines[1:-1]] == list(range(1, BIG_ROWS + 1))
    assert leftovers(tmp_path) == []


async def test_snapshot_watch_on_a_rollback_journal_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    conn = sqlite3.connect(path)
    build_mixed(conn)
    conn.commit()
    backend = await SqliteBackend.open(parse_url(str(path)))
    try:
        assert backend._plan is not None and backend._plan.strategy == "ro"
        read = await backend.split_read(Relation(None, "t"), RowQuery())
        assert read is not None
        try:
            assert read.rows == ROWS
            assert await read.unchanged()
            conn.execute("SELECT count(*) FROM t").fetchall()  # a read changes nothing
            assert await read.unchanged()
            conn.execute("UPDATE t SET s = 'changed' WHERE id = 1")
            assert await read.unchanged()  # not committed yet
            conn.commit()
            assert not await read.unchanged()
        finally:
            await read.close()
    finally:
        await backend.aclose()
        conn.close()


async def test_snapshot_watch_on_an_immutable_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_parts(monkeypatch, 3)
    path = tmp_path / "wal.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    build_mixed(conn)
    conn.commit()
    conn.close()  # the last connection folds the -wal into the file and removes it
    assert all_files(tmp_path) == ["wal.db"]
    assert plan_read_only_open(path).strategy == "immutable"
    backend = await SqliteBackend.open(parse_url(str(path)))
    try:
        assert await in_parts(backend, Relation(None, "t"), ALL, tmp_path) == ROWS
        read = await backend.split_read(Relation(None, "t"), RowQuery())
        assert read is not None
        try:
            assert read.job["target"].endswith("immutable=1")
            assert await read.unchanged()
            assert await read.unchanged()
            writer = sqlite3.connect(path)
            writer.execute("UPDATE t SET s = 'changed' WHERE id = 1")
            writer.commit()
            writer.close()
            assert not await read.unchanged()
        finally:
            await read.close()
        # The backend opens the changed file again; the parts read it as it is now.
        changed = RowQuery(filters=(Filter("s", "equals", "changed"),))
        assert await in_parts(backend, Relation(None, "t"), changed, tmp_path) == 1
        assert await in_parts(backend, Relation(None, "t"), ALL, tmp_path) == ROWS
    finally:
        await backend.aclose()


async def test_no_split_for_a_database_in_memory(tmp_path: Path) -> None:
    memory = await SqliteBackend.open(parse_url("sqlite::memory:"))
    try:
        assert await memory.split_read(Relation(None, "t"), RowQuery()) is None
    finally:
        await memory.aclose()


@pytest.fixture
async def console(database: Path) -> AsyncIterator[ConsoleSession]:
    opened = await open_console(parse_url(str(database)), read_only=True)
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_query_result_in_parts_equals_one_pass(
    console: ConsoleSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: Format
) -> None:
    outcome = await console.run(
        "SELECT id, s, n AS n, r, b, s AS s FROM t WHERE grp <> 1 ORDER BY id"
    )
    assert outcome.cursor is not None
    pager = ResultPager(console, outcome.cursor)
    target = tmp_path / f"result.{fmt}"
    one_count, one, _ = await export_bytes(pager, RESULT, RowQuery(), fmt, target, monkeypatch, 1)
    target.unlink()
    count, parted, progress = await export_bytes(
        pager, RESULT, RowQuery(), fmt, target, monkeypatch, 3
    )
    assert count == one_count == ROWS - ROWS // 5
    assert parted == one
    assert not progress.target_seen
    if fmt == "csv":  # the grid's unique names, as the one pass writes them
        assert parted.split(b"\r\n")[0] == b"id,s,n,r,b,s:1"
    read = await pager.split_read(RESULT, RowQuery())
    assert read is not None
    try:
        assert read.job["guarded"] is True and read.rows == count
        assert read.columns == pager.columns
    finally:
        await read.close()
    assert await in_parts(pager, RESULT, RowQuery(), tmp_path) == count
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []
    assert worker_children() == []


async def test_a_query_result_with_text_not_utf8_falls_back(
    console: ConsoleSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = await console.run("SELECT * FROM latin ORDER BY id")
    assert outcome.cursor is not None
    pager = ResultPager(console, outcome.cursor)
    set_parts(monkeypatch, 3)
    assert await in_parts(pager, RESULT, RowQuery(), tmp_path) is None
    target = tmp_path / "latin.csv"
    _, parted, _ = await export_bytes(pager, RESULT, RowQuery(), "csv", target, monkeypatch, 3)
    _, one, _ = await export_bytes(pager, RESULT, RowQuery(), "csv", target, monkeypatch, 1)
    assert parted == one and parted.count(b"caf\\xe9") == 2
    assert leftovers(tmp_path) == []


async def test_a_result_that_cannot_be_wrapped_is_not_split(
    console: ConsoleSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome = await console.run("PRAGMA table_info(t)")
    assert outcome.cursor is not None
    pager = ResultPager(console, outcome.cursor)
    assert await pager.split_read(RESULT, RowQuery()) is None
    target = tmp_path / "info.csv"
    count, parted, _ = await export_bytes(pager, RESULT, RowQuery(), "csv", target, monkeypatch, 3)
    assert count == 6 and parted.startswith(b"cid,name,type,notnull,dflt_value,pk\r\n")


async def test_a_query_on_memory_is_not_split() -> None:
    session = await open_console(parse_url("sqlite::memory:"), read_only=True)
    try:
        outcome = await session.run("SELECT 1 AS a UNION ALL SELECT 2")
        assert outcome.cursor is not None
        assert await ResultPager(session, outcome.cursor).split_read(RESULT, RowQuery()) is None
    finally:
        await session.aclose()


def test_a_worker_stops_when_its_parent_closes_stdin(big_database: Path, tmp_path: Path) -> None:
    plan = plan_read_only_open(big_database)
    job = {
        "target": plan.uri,
        "uri": True,
        "timeout": 5.0,
        "guarded": False,
        # Every pair of rows: far more than it could write in the seconds allowed.
        "sql": "SELECT a.id, b.grp, b.payload FROM big a, big b LIMIT -1 OFFSET ?",
        "params": [],
        "offset": 0,
        "limit": None,
        "fmt": "csv",
        "relation": (None, "big"),
        "columns": ("id", "grp", "payload"),
        "head": True,
        "tail": True,
    }
    with open(tmp_path / "part", "wb") as out:
        job["fd"] = out.fileno()
        worker = subprocess.Popen(
            [sys.executable, "-P", "-m", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            pass_fds=(out.fileno(),),
        )
    try:
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write(pickle.dumps(job))
        worker.stdin.flush()
        assert worker.stdout.readline() == b"started\n"
        worker.stdin.close()
        closed = time.monotonic()
        code = worker.wait(timeout=10)
        assert time.monotonic() - closed < 5
        assert code != 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()


def run_worker(database: Path, folder: Path, **part: Any) -> tuple[int, bytes, bytes, bytes]:
    """Run one part by hand, stdin kept open as the parent keeps it: the exit code, what
    it printed on stdout and on stderr, and what it wrote."""
    job = {
        "target": plan_read_only_open(database).uri,
        "uri": True,
        "timeout": 5.0,
        "guarded": False,
        "params": [],
        "head": False,
        "tail": False,
    } | part
    written = folder / "part"
    with open(written, "wb") as out:
        job["fd"] = out.fileno()
        worker = subprocess.Popen(
            [sys.executable, "-P", "-m", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(out.fileno(),),
        )
    assert worker.stdin is not None and worker.stdout is not None and worker.stderr is not None
    try:
        worker.stdin.write(pickle.dumps(job))
        worker.stdin.flush()
        stdout = worker.stdout.read()  # to its end: the worker has exited
        code = worker.wait(timeout=30)
        stderr = worker.stderr.read()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stdin.close()
        worker.stdout.close()
        worker.stderr.close()
    return code, stdout, stderr, written.read_bytes()


def test_a_worker_writes_its_part(database: Path, tmp_path: Path) -> None:
    """One middle part: its rows only, no header, and its count printed."""
    code, stdout, stderr, written = run_worker(
        database,
        tmp_path,
        sql="SELECT id FROM t WHERE id > ? ORDER BY id LIMIT -1 OFFSET ?",
        params=[100],
        offset=10,
        limit=5,
        fmt="csv",
        relation=(None, "t"),
        columns=("id",),
    )
    assert code == 0, stderr
    assert stdout.split() == [b"started", b"5"]
    assert written == b"111\r\n112\r\n113\r\n114\r\n115\r\n"


def test_a_worker_exits_3_on_text_that_is_not_utf8(database: Path, tmp_path: Path) -> None:
    def latin_part(offset: int) -> tuple[int, bytes, bytes]:
        code, stdout, _, written = run_worker(
            database,
            tmp_path,
            sql="SELECT id, word FROM latin ORDER BY id LIMIT -1 OFFSET ?",
            offset=offset,
            limit=1000,
            fmt="jsonl",
            relation=(None, "latin"),
            columns=("id", "word"),
        )
        return code, stdout, written

    code, stdout, _ = latin_part(1000)  # holds the row that is not UTF-8
    assert code == 3
    assert b"1000" not in stdout.split()  # no count: the part was not written
    code, _, written = latin_part(0)
    assert code == 0 and written.count(b"\n") == 1000


async def test_a_long_target_name(
    backend: SqliteBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name the one pass can write: the parts' own files beside it must fit too."""
    relation = Relation(None, "t")
    target = tmp_path / ("n" * 230 + ".csv")
    _, one, _ = await export_bytes(backend, relation, ALL, "csv", target, monkeypatch, 1)
    count, parted, _ = await export_bytes(backend, relation, ALL, "csv", target, monkeypatch, 3)
    assert count == ROWS and parted == one
    assert all_files(tmp_path) == [target.name]
    long_folder = tmp_path / "long"
    long_folder.mkdir()
    out = long_folder / ("n" * 235 + ".csv")
    assert await in_parts(backend, relation, ALL, long_folder, out.name) == ROWS


async def test_modules_in_the_working_directory_are_not_run(
    backend: SqliteBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers import only the installed code, whatever folder the app runs in."""
    here = tmp_path / "cwd"
    here.mkdir()
    marker = tmp_path / "planted-ran"
    for module in ("threading", "pickle", "signal"):
        (here / f"{module}.py").write_text(
            f"open({str(marker)!r}, 'a').write({module!r})\nraise SystemExit(7)\n"
        )
    monkeypatch.chdir(here)
    set_parts(monkeypatch, 3)
    assert await in_parts(backend, Relation(None, "t"), ALL, tmp_path) == ROWS
    assert all_files(tmp_path) == ["cwd"]


@pytest.mark.parametrize("parts", [1, 3], ids=["one-pass", "in-parts"])
async def test_sql_inserts_leave_out_generated_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    """SQLite refuses a value for a generated column: the INSERTs name the others only."""
    path = tmp_path / "made.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE made(id INTEGER PRIMARY KEY, a INT, twice INT AS (a * 2),"
        " kept INT GENERATED ALWAYS AS (a + 1) STORED, note TEXT)"
    )
    conn.executemany(
        "INSERT INTO made(a, note) VALUES (?, ?)", ((i, f"n{i}") for i in range(3 * 4000))
    )
    conn.commit()
    conn.close()
    backend = await SqliteBackend.open(parse_url(str(path)))
    try:
        target = tmp_path / "made.sql"
        count, data, _ = await export_bytes(
            backend, Relation(None, "made"), ALL, "sql", target, monkeypatch, parts
        )
        if parts > 1:
            assert await in_parts(backend, Relation(None, "made"), ALL, tmp_path) == count
    finally:
        await backend.aclose()
    text = data.decode()
    assert text.splitlines()[1] == 'INSERT INTO "made"("id", "a", "note") VALUES(1, 0, \'n0\');'
    again = sqlite3.connect(":memory:")
    again.execute(
        "CREATE TABLE made(id INTEGER PRIMARY KEY, a INT, twice INT AS (a * 2),"
        " kept INT GENERATED ALWAYS AS (a + 1) STORED, note TEXT)"
    )
    again.executescript(text)
    assert again.execute("SELECT count(*), sum(twice), sum(kept) FROM made").fetchone() == (
        12000,
        2 * sum(range(12000)),
        sum(range(12000)) + 12000,
    )
    again.close()
