"""Tests that every unusable file gives one clear error, and that nothing is created or changed."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dbinspect.backends import SqliteBackend
from dbinspect.backends.sqlite_files import SQLITE_HEADER, check_database_file
from dbinspect.errors import ConnectError, DbInspectError
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

RunCli = Callable[..., subprocess.CompletedProcess[str]]
OneLineError = Callable[..., str]


def listing(folder: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        if (folder / name).is_file()
        else "<not a file>"
        for name in sorted(os.listdir(folder))
    }


@pytest.fixture
def good_db(tmp_path: Path, make_db: Callable[..., Path]) -> Path:
    """A rollback-journal database of a few pages (rows spill past page 1)."""
    path = make_db(
        tmp_path,
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
        "CREATE INDEX t_v ON t(v);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)"
        " INSERT INTO t(v) SELECT printf('%0100d', i) FROM n;",
        "good.db",
    )
    return path


def check_cli_and_backend(
    run_cli: RunCli, one_line_error: OneLineError, path: Path, *fragments: str
) -> None:
    """`info` and `schema` both fail with one line; the folder is left exactly as it was."""
    before = listing(path.parent)
    for command in ("info", "schema"):
        result = run_cli(command, path, timeout=20)
        one_line_error(result, *fragments)
        assert result.stdout == ""
    result = run_cli("info", "--json", "--database-url", f"sqlite:{path}", timeout=20)
    one_line_error(result, *fragments)
    assert listing(path.parent) == before


# --- Paths that are not database files ----------------------------------------------------


def test_missing_path_is_not_created(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    missing = tmp_path / "missing.db"
    for form in (str(missing), f"sqlite:{missing}", f"sqlite://{missing}?mode=ro"):
        line = one_line_error(run_cli("info", form), "no such database file", "--create")
        assert str(missing) in line
    assert os.listdir(tmp_path) == []
    with pytest.raises(ConnectError) as caught:
        check_database_file(missing)
    assert caught.value.hint and "--create" in caught.value.hint
    assert not missing.exists()


def test_missing_path_in_a_missing_folder(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    one_line_error(run_cli("info", tmp_path / "nope" / "app.db"), "no such database file")
    assert os.listdir(tmp_path) == []


def test_directory(tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError) -> None:
    folder = tmp_path / "folder.db"
    folder.mkdir()
    check_cli_and_backend(run_cli, one_line_error, folder, "is a directory")


def test_fifo_does_not_hang(tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError) -> None:
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    check_cli_and_backend(run_cli, one_line_error, fifo, "not a regular file")


def test_zero_byte_file(tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    check_cli_and_backend(run_cli, one_line_error, empty, "empty file")
    assert empty.read_bytes() == b""


@pytest.mark.parametrize(
    "content",
    [
        b"name,email\nann,a@x\n" * 20,
        b"\x00" * 4096,
        b"SQLite format 2\x00" + b"\x00" * 4080,
        b"\x7fELF" + os.urandom(2000),
    ],
    ids=["csv", "zeros", "wrong-magic", "binary"],
)
def test_not_a_sqlite_file(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError, content: bytes
) -> None:
    path = tmp_path / "other.db"
    path.write_bytes(content)
    check_cli_and_backend(run_cli, one_line_error, path, "not a SQLite database")
    assert path.read_bytes() == content


def test_shorter_than_the_header(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError, good_db: Path
) -> None:
    path = tmp_path / "short.db"
    path.write_bytes(good_db.read_bytes()[:60])
    check_cli_and_backend(run_cli, one_line_error, path, "truncated")


@pytest.mark.parametrize("keep", [4096, 8192, 4096 * 3 + 100])
def test_truncated_file(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError, good_db: Path, keep: int
) -> None:
    path = tmp_path / "cut.db"
    path.write_bytes(good_db.read_bytes()[:keep])
    assert path.read_bytes().startswith(SQLITE_HEADER)
    check_cli_and_backend(run_cli, one_line_error, path, "corrupt")


def test_flipped_bytes_in_the_schema_page(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError, good_db: Path
) -> None:
    data = bytearray(good_db.read_bytes())
    for offset in range(100, 4096):
        data[offset] ^= 0x5A
    path = tmp_path / "flipped.db"
    path.write_bytes(bytes(data))
    check_cli_and_backend(run_cli, one_line_error, path, "corrupt")


def corrupt_table_page(good_db: Path, path: Path) -> None:
    """Write a copy of `good_db` whose table `t` has its root page scrambled."""
    data = bytearray(good_db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    conn = sqlite3.connect(good_db)
    root = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 't'").fetchone()[0]
    conn.close()
    start = (root - 1) * page_size
    for offset in range(start, start + page_size):
        data[offset] ^= 0xA5
    path.write_bytes(bytes(data))


async def test_flipped_bytes_in_a_data_page(tmp_path: Path, good_db: Path) -> None:
    path = tmp_path / "flipped.db"
    corrupt_table_page(good_db, path)
    opened = await SqliteBackend.open(parse_url(str(path)))
    try:
        with pytest.raises(DbInspectError) as caught:
            await opened.fetch_rows("t", limit=500)
        assert "corrupt" in caught.value.one_line()
    finally:
        await opened.aclose()


@pytest.mark.parametrize("page_size", [b"\x03\x00", b"\x00\x00", b"\x00\x01"])
def test_lying_header_page_size(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError, good_db: Path, page_size: bytes
) -> None:
    data = bytearray(good_db.read_bytes())
    data[16:18] = page_size
    path = tmp_path / "liar.db"
    path.write_bytes(bytes(data))
    check_cli_and_backend(run_cli, one_line_error, path, "liar.db")


def test_symlink_to_a_database_is_followed(tmp_path: Path, run_cli: RunCli, good_db: Path) -> None:
    link = tmp_path / "link.db"
    link.symlink_to(good_db)
    result = run_cli("info", "--json", link)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["path"] == str(good_db.resolve())


def test_dangling_symlink(tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError) -> None:
    link = tmp_path / "dangling.db"
    link.symlink_to(tmp_path / "gone.db")
    one_line_error(run_cli("info", link), "no such database file")
    assert sorted(os.listdir(tmp_path)) == ["dangling.db"]


# --- Permissions (root reads everything: drop to `nobody` in a subprocess) -----------------

AS_NOBODY = textwrap.dedent(
    """
    import aiosqlite, concurrent.futures.thread, dataclasses, importlib, json, os, pkgutil
    import sqlite3, sys, tomllib
    import dbinspect, dbinspect.cli
    # After setuid the interpreter's own files may be unreadable: import everything now.
    for module in pkgutil.walk_packages(dbinspect.__path__, "dbinspect."):
        if not module.name.startswith("dbinspect.tui"):
            importlib.import_module(module.name)
    os.setgroups([])
    os.setgid({gid})
    os.setuid({uid})
    sys.argv = ["dbinspect", *sys.argv[1:]]
    dbinspect.cli.main()
    """
)


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A folder under the system temp dir that any user may enter and read."""
    folder = Path(tempfile.mkdtemp(prefix="dbinspect-test-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_unprivileged(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI as an unprivileged user (as `nobody` when the tests run as root)."""
    if os.geteuid() == 0:
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            pytest.skip("running as root and there is no 'nobody' user to drop to")
        code = AS_NOBODY.format(uid=nobody.pw_uid, gid=nobody.pw_gid)
        command = [sys.executable, "-c", code, *map(str, args)]
    else:
        command = [sys.executable, "-m", "dbinspect", *map(str, args)]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        command, cwd="/", env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_permission_denied(public_dir: Path, good_db: Path, one_line_error: OneLineError) -> None:
    path = public_dir / "secret.db"
    shutil.copyfile(good_db, path)
    path.chmod(0o644)
    readable = run_unprivileged("info", "--json", path)
    assert readable.returncode == 0, readable.stderr  # the harness itself works
    assert json.loads(readable.stdout)["tables"] == 1
    path.chmod(0o000)
    before = listing(public_dir)
    for command in ("info", "schema"):
        one_line_error(run_unprivileged(command, path), "permission denied", "secret.db")
    assert listing(public_dir) == before


def test_wal_database_in_a_read_only_folder(public_dir: Path, make_db: Callable[..., Path]) -> None:
    folder = public_dir / "ro"
    folder.mkdir(mode=0o755)
    writer = textwrap.dedent(
        """
        import os, signal, sqlite3, sys
        conn = sqlite3.connect(sys.argv[1], isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("CREATE TABLE t(x)")
        conn.execute("CREATE VIEW v AS SELECT x FROM t")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    subprocess.run([sys.executable, "-c", writer, str(folder / "app.db")], check=False)
    assert sorted(os.listdir(folder)) == ["app.db", "app.db-shm", "app.db-wal"]
    for name in os.listdir(folder):
        (folder / name).chmod(0o644)
    for present in (["app.db", "app.db-shm", "app.db-wal"], ["app.db", "app.db-wal"]):
        if "app.db-shm" not in present:
            (folder / "app.db-shm").unlink()
        before = listing(folder)
        result = run_unprivileged("info", "--json", folder / "app.db")
        assert result.returncode == 0, result.stderr
        facts = json.loads(result.stdout)
        assert (facts["tables"], facts["views"], facts["journal_mode"]) == (1, 1, "wal")
        assert listing(folder) == before


# --- Locked databases --------------------------------------------------------------------


@pytest.fixture
def exclusive_lock(good_db: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding an EXCLUSIVE lock (rollback-journal mode)."""
    conn = sqlite3.connect(good_db, isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("INSERT INTO t(v) VALUES ('pending')")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


async def test_locked_database_times_out_with_a_clear_error(
    good_db: Path, exclusive_lock: sqlite3.Connection
) -> None:
    started = time.monotonic()
    with pytest.raises(ConnectError) as caught:
        await SqliteBackend.open(parse_url(str(good_db)), busy_timeout=0.5)
    # It gave up only after waiting its busy timeout (a slower machine only adds to this).
    assert time.monotonic() - started >= 0.4
    assert "locked" in caught.value.one_line()
    assert str(good_db) in caught.value.one_line()


async def test_locked_database_waits_for_the_writer(
    good_db: Path, exclusive_lock: sqlite3.Connection
) -> None:
    timer = threading.Timer(0.3, lambda: exclusive_lock.execute("COMMIT"))
    timer.start()
    try:
        opened = await SqliteBackend.open(parse_url(str(good_db)), busy_timeout=5)
        try:
            assert (await opened.row_count("t")).value == 401
        finally:
            await opened.aclose()
    finally:
        timer.join()


def test_locked_database_cli(
    good_db: Path, exclusive_lock: sqlite3.Connection, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    # The CLI waits its default busy timeout (5 s) before giving up.
    started = time.monotonic()
    result = run_cli("info", good_db)
    assert time.monotonic() - started >= 4
    one_line_error(result, "locked", "try again")


def test_killed_writer_leaves_a_hot_journal_that_is_not_rolled_back(
    good_db: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    writer = textwrap.dedent(
        """
        import os, signal, sqlite3, sys
        conn = sqlite3.connect(sys.argv[1], isolation_level=None)
        conn.execute("PRAGMA cache_size=1")
        conn.execute("BEGIN")
        conn.execute("UPDATE t SET v = 'changed'")
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    subprocess.run([sys.executable, "-c", writer, str(good_db)], check=False)
    journal = Path(f"{good_db}-journal")
    if not journal.exists():
        pytest.skip("the killed writer left no hot journal")
    before = listing(good_db.parent)
    result = run_cli("info", "--json", good_db)
    # A read-only connection cannot roll a hot journal back: a clear error, and never a
    # change to the user's files.
    one_line_error(result, "stopped mid-transaction", "write access")
    assert listing(good_db.parent) == before


# --- Untrusted schema: application functions must not run -----------------------------


def test_schema_calling_application_functions_is_inert(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "evil.db"
    marker = tmp_path / "ran"
    conn = sqlite3.connect(path)
    conn.create_function("evil", 1, lambda x: marker.write_text("ran") and x, deterministic=True)
    conn.executescript(
        """
        CREATE TABLE t(x, y AS (evil(x)), CHECK (evil(x) IS NOT NULL OR 1));
        CREATE VIEW v AS SELECT evil(x) AS e FROM t;
        CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT evil(new.x); END;
        CREATE INDEX ix ON t(x) WHERE evil(x) IS NULL;
        """
    )
    conn.close()
    marker.unlink(missing_ok=True)
    before = listing(tmp_path)
    info = run_cli("info", "--json", path)
    assert info.returncode == 0, info.stderr
    counts = json.loads(info.stdout)
    assert (counts["tables"], counts["views"], counts["triggers"]) == (1, 1, 1)
    schema = run_cli("schema", "--format", "json", path)
    assert schema.returncode == 0, schema.stderr
    dumped = json.loads(schema.stdout)
    assert [c["name"] for c in dumped["tables"][0]["columns"]] == ["x", "y"]
    assert dumped["tables"][0]["columns"][1]["generated"] == "virtual"
    assert not marker.exists()
    assert listing(tmp_path) == before


def write_invalid_utf8_name(path: Path) -> None:
    """A database whose table `a\\xffb` has a name that is not valid UTF-8."""
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE ab(x); CREATE TABLE fine(y);")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_schema SET name = CAST(x'61ff62' AS TEXT),"
        " tbl_name = CAST(x'61ff62' AS TEXT),"
        " sql = CAST(x'435245415445205441424c45202261ff6222287829' AS TEXT) WHERE name = 'ab'"
    )
    conn.commit()
    conn.close()


def test_invalid_utf8_name_is_shown_with_its_bytes_escaped(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "bad-utf8.db"
    write_invalid_utf8_name(path)
    result = run_cli("schema", path)
    assert result.returncode == 0, result.stderr
    assert 'CREATE TABLE "a\\xffb"(x);' in result.stdout
    assert "CREATE TABLE fine(y);" in result.stdout


def test_invalid_utf8_name_still_shows_the_schema(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "bad-utf8.db"
    write_invalid_utf8_name(path)
    result = run_cli("info", "--json", path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["tables"] == 2


# --- A tracking table that is not sqlx's --------------------------------------------------


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("(1, 'a', 'now', 1, NULL, NULL)", "the checksum of version 1 is NULL"),
        ("(1, 'a', 'now', 1, 'text', 1)", "the checksum of version 1 is a str, not bytes"),
        ("('x', NULL, NULL, 0, x'00', 1.5)", "version 'x' is not an integer"),
    ],
)
def test_a_tracking_table_that_is_not_sqlxs_is_one_line(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError, row: str, problem: str
) -> None:
    # SQLite keeps any value in any column: a hand-made or hostile table holds anything.
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE _sqlx_migrations "
        "(version, description, installed_on, success, checksum, execution_time);"
        f"INSERT INTO _sqlx_migrations VALUES {row};"
    )
    conn.close()
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "1_a.sql").write_text("CREATE TABLE a (x);\n")
    before = path.read_bytes()
    for command in (("migrate", "info"), ("migrate", "run"), ("migrate", "revert")):
        one_line_error(run_cli(*command, path, timeout=20), problem)
    checked = run_cli("check", path, timeout=20)
    assert checked.returncode == 1 and problem in checked.stdout, checked
    assert path.read_bytes() == before
