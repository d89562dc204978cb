"""Every read path opens alike: nothing created beside the file, never stale, copies bounded."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from backends.test_hostile_files import listing, public_dir, run_unprivileged

from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.backends.sqlite_files import plan_read_only_open
from dbinspect.errors import ConnectError
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

__all__ = ["public_dir"]  # a fixture, used by name

SAMPLE = Path(__file__).resolve().parent.parent.parent / "dbinspect" / "sample_migrations"


def make_wal_db(folder: Path, rows: int = 100) -> Path:
    """A WAL database, closed cleanly: no `-wal`, no `-shm` beside it."""
    path = folder / "wal.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t(v) VALUES (?)", [(f"row {i}",) for i in range(rows)])
    conn.close()
    assert sorted(os.listdir(folder)) == ["wal.db"]
    return path


def test_migrate_info_creates_nothing_beside_a_wal_database(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    path = make_wal_db(folder)
    before = listing(folder)
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "migrate", "info", "-D", f"sqlite:{path}",
         "--source", str(SAMPLE)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1/pending" in result.stdout
    assert listing(folder) == before


def test_migrate_info_in_a_read_only_folder(public_dir: Path) -> None:
    path = make_wal_db(public_dir)
    path.chmod(0o644)
    public_dir.chmod(0o555)
    try:
        before = listing(public_dir)
        result = run_unprivileged("migrate", "info", "-D", f"sqlite:{path}", "--source", SAMPLE)
        assert result.returncode == 0, result.stderr
        assert "1/pending" in result.stdout
        assert listing(public_dir) == before
    finally:
        public_dir.chmod(0o755)


WRITER = textwrap.dedent(
    """
    import sys
    from dbinspect.sqlite_driver import dbapi as sqlite3
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.executemany("INSERT INTO t(v) VALUES (?)", [("new",)] * int(sys.argv[2]))
    if sys.argv[3] == "stay":
        sys.stdout.write("written\\n"); sys.stdout.flush(); sys.stdin.read()
    conn.close()
    """
)


@pytest.mark.parametrize("writer_stays", [True, False], ids=["writer-open", "writer-closed"])
async def test_an_idle_wal_database_is_never_read_stale(tmp_path: Path, writer_stays: bool) -> None:
    path = make_wal_db(tmp_path, rows=100)
    backend = await SqliteBackend.open(parse_url(str(path)))
    try:
        assert (await backend.row_count("t")).value == 100
        writer = subprocess.Popen(  # noqa: ASYNC220 - the other process, started once
            [sys.executable, "-c", WRITER, str(path), "150", "stay" if writer_stays else "go"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            if writer_stays:
                assert writer.stdout is not None and writer.stdout.readline() == "written\n"
            else:
                writer.wait(timeout=30)
            assert (await backend.row_count("t")).value == 250
        finally:
            writer.communicate(timeout=30)
        assert (await backend.row_count("t")).value == 250
    finally:
        await backend.aclose()


def wal_without_shm(folder: Path) -> Path:
    """Committed rows left in a `-wal` with no `-shm`, as a crash can leave them."""
    path = make_wal_db(folder, rows=10)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.executemany("INSERT INTO t(v) VALUES (?)", [("in the wal",)] * 50)
    wal = Path(f"{path}-wal").read_bytes()
    conn.close()
    Path(f"{path}-wal").write_bytes(wal)  # the close checkpointed and removed it
    return path


def test_a_copy_over_the_limit_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = wal_without_shm(tmp_path)
    # A temp folder of its own: the shared one gains files from other processes meanwhile.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with pytest.raises(ConnectError) as caught:
        plan_read_only_open(path, copy_limit=1024)
    assert "over the 1,024-byte limit" in caught.value.one_line()
    assert "wal_checkpoint" in caught.value.one_line()
    assert os.listdir(scratch) == []


def test_a_copy_reads_the_wal_and_cleans_up(tmp_path: Path) -> None:
    path = wal_without_shm(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "migrate", "info", "--json",
         "-D", f"sqlite:{path}", "--source", str(SAMPLE)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["wal.db", "wal.db-wal"]


FULL_TEMP = textwrap.dedent(
    """
    import os, resource, signal, sys, tempfile
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    sys.argv = ["dbinspect", "info", sys.argv[1]]
    from dbinspect.__main__ import run
    run()
    """
)


def test_a_full_temp_folder_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    path = wal_without_shm(tmp_path)
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    result = subprocess.run(
        [sys.executable, "-c", FULL_TEMP, str(path)],
        capture_output=True, text=True, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "private copy" in lines[0]
    assert os.listdir(temp) == []
