"""Helpers for the migration tests: corpus paths, folders, dumps and integrity checks."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from dbinspect.sqlite_driver import dbapi as sqlite3

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / ".." / "shared" / "corpus"
SQLX = CORPUS / "sqlx"
ATUIN = CORPUS / "atuin" / "crates"


def write_folder(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Create `folder` holding `files` (text written as UTF-8 bytes, no newline changes)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


def dump(path: Path) -> list[tuple[object, ...]]:
    """Every object's SQL and every user table's rows: equal dumps mean equal databases."""
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        schema = conn.execute(
            "SELECT type, name, sql FROM sqlite_schema ORDER BY type, name"
        ).fetchall()
        rows: list[tuple[object, ...]] = list(schema)
        for _, name, _ in [s for s in schema if s[0] == "table"]:
            quoted = '"' + str(name).replace('"', '""') + '"'
            rows.extend(conn.execute(f"SELECT * FROM {quoted} ORDER BY 1").fetchall())
        return rows
    finally:
        conn.close()


def integrity(path: Path) -> None:
    """Assert integrity_check and foreign_key_check are clean."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def tracking_rows(path: Path) -> list[tuple[object, ...]]:
    """(version, description, success, checksum, execution_time) of every tracking row."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT version, description, success, checksum, execution_time "
            "FROM _sqlx_migrations ORDER BY version"
        ).fetchall()
    finally:
        conn.close()


def file_bytes(path: Path) -> bytes:
    """The file's bytes, empty when it does not exist."""
    return path.read_bytes() if path.exists() else b""


# Run in a process of its own: SQLite lets a reader in without asking the file's locks when
# another connection of the same process already reads, so only another process sees them.
LOCKED_OUT_PROBE = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=0)
while True:
    try:
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        break
    time.sleep(0.01)
print("locked out", flush=True)
"""


def wait_for_readers_locked_out(db_path: Path, timeout: float = 20) -> None:
    """Wait until a new reader of `db_path` is refused: a commit is waiting for readers.

    The waiting commit holds SQLite's PENDING lock, which lets no new reader in.
    """
    probe = subprocess.Popen(
        [sys.executable, "-c", LOCKED_OUT_PROBE, str(db_path)], stdout=subprocess.PIPE
    )
    try:
        out, _ = probe.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        probe.kill()
        probe.communicate()
        raise AssertionError(f"no commit waited for the readers within {timeout:g} s") from None
    assert out == b"locked out\n", out


def wait_until_refused(
    db_path: Path, sql: str, timeout: float = 20, *, held_for: float = 0.0
) -> None:
    """Wait until `sql` on a new connection to `db_path` is refused at once as locked.

    `BEGIN EXCLUSIVE` is refused while any other connection holds a lock; a read, while a
    commit waits for readers to finish (among connections of this process; for another
    process's commit, see `wait_for_readers_locked_out`). With `held_for`, only a refusal
    lasting that long counts: a runner's own bookkeeping holds locks for a moment only,
    where a long statement holds its lock throughout.
    """
    probe = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    deadline = time.monotonic() + timeout
    refused_since: float | None = None
    try:
        while True:
            try:
                probe.execute(sql).fetchall()
            except sqlite3.OperationalError as error:
                if "locked" not in str(error):
                    raise
                now = time.monotonic()
                refused_since = now if refused_since is None else refused_since
                if now - refused_since >= held_for:
                    return
                time.sleep(0.005)
                continue
            refused_since = None
            if probe.in_transaction:
                probe.execute("ROLLBACK")
            if time.monotonic() > deadline:
                raise AssertionError(f"{sql!r} was never refused within {timeout:g} s")
            time.sleep(0.005)
    finally:
        probe.close()
