"""The SQL dump of a large table, split between the dump and a helper process."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dbinspect.errors import OperationError
from dbinspect.ops import backup_files, dump_helper
from dbinspect.ops.backup import open_source, run_backup, source_uri
from dbinspect.ops.dump_helper import DumpHelper
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url
from ops.dbcompare import snapshot

ROWS = 120_000


def build(path: Path) -> None:
    """Two large tables (one keeping its rowids, sparse ones), with values of every kind."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, r REAL, b BLOB, g AS (v || 'x'))")
    conn.execute("CREATE TABLE nr(a, b)")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO t(id, v, r, b) VALUES (?, ?, ?, ?)",
        (
            (i * 3, f"it's {i}" if i % 7 else f"a\x00{i}", i / 8 if i % 5 else 1e-30 * i, b"\x00")
            for i in range(ROWS)
        ),
    )
    conn.executemany("INSERT INTO nr VALUES (?, ?)", ((i, str(i)) for i in range(ROWS * 2)))
    conn.execute("UPDATE t SET v = CAST(X'FF61' AS TEXT) WHERE id = 3000")  # not UTF-8
    conn.execute("DELETE FROM nr WHERE a % 1000 = 0")  # rowids with holes, kept
    conn.execute("COMMIT")
    conn.close()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("split") / "large.db"
    build(path)
    return path


def test_a_large_table_is_dumped_by_two_processes_as_by_one(
    tmp_path: Path, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = parse_url(str(database))
    conn = open_source(url)
    tables = {
        t.name: t for t in backup_files.plan.read_tables(conn, backup_files.plan.read_entries(conn))
    }
    assert len(dump_helper.split_rowids(conn, tables["t"])[1]) >= 4  # type: ignore[index]
    assert dump_helper.split_rowids(conn, tables["nr"]) is not None
    conn.close()
    relayed: list[int] = []
    relay = DumpHelper.relay_chunk

    def counted(helper: DumpHelper, out: object) -> int:
        relayed.append(1)
        return relay(helper, out)  # type: ignore[arg-type]

    monkeypatch.setattr(DumpHelper, "relay_chunk", counted)
    split = run_backup(url, "sql", tmp_path / "split.sql")
    assert relayed  # the helper wrote its chunks
    monkeypatch.setattr(dump_helper, "SPLIT_ROWIDS", 1 << 62)
    alone = run_backup(url, "sql", tmp_path / "alone.sql")
    assert split.detail == alone.detail == f"{ROWS * 3 - ROWS * 2 // 1000:,} rows"
    assert (tmp_path / "split.sql").read_bytes() == (tmp_path / "alone.sql").read_bytes()
    if shutil.which("sqlite3"):
        rebuilt = tmp_path / "rebuilt.db"
        with (tmp_path / "split.sql").open("rb") as script:
            done = subprocess.run(["sqlite3", str(rebuilt)], stdin=script, capture_output=True)
        assert done.returncode == 0 and not done.stderr, done.stderr
        assert snapshot(rebuilt) == snapshot(database)


def test_a_helper_that_reads_another_moment_is_not_used(tmp_path: Path, database: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copyfile(database, copy)
    url = parse_url(str(copy))
    probe = open_source(url)
    helping = backup_files._Helping(url, probe, backup_files._data_version(probe))
    writer = sqlite3.connect(copy, isolation_level=None)
    writer.execute("INSERT INTO nr VALUES (0, 'committed meanwhile')")
    writer.close()
    try:
        assert helping.start() is not None
        assert not helping.confirmed()  # the dump goes on alone
        assert helping.start() is None
    finally:
        helping.close()
        probe.close()


def test_a_helper_that_fails_is_one_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    helper = DumpHelper.start(source_uri(missing), missing)
    assert helper is not None
    assert not helper.ready()
    with (tmp_path / "out").open("wb") as out, pytest.raises(OperationError) as raised:
        helper.relay_chunk(out)
    assert str(missing) in str(raised.value) and "unable to open" in str(raised.value)
    assert "Traceback" not in str(raised.value)
