"""Text from a database never drives the terminal: escapes on a TTY, exact bytes in pipes."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from dbinspect.sqlite_driver import dbapi as sqlite3

ROOT = Path(__file__).resolve().parent.parent


def clean_env() -> dict[str, str]:
    """The environment without a database URL or dbinspect settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and not k.startswith("DBINSPECT_")
    }


HOSTILE = "a\x1b]52;c;aGk=\x07b\u202e"


def hostile_db(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.db"
    conn = sqlite3.connect(path)
    conn.execute(f'CREATE TABLE "{HOSTILE}" (x)')
    conn.commit()
    conn.close()
    return path


def run_in_pty(*args: str) -> str:
    """Run the CLI with a pseudo-terminal as stdout and return what it wrote there."""
    leader, follower = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-m", "dbinspect", *args],
            stdout=follower,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
            env=clean_env(),
            timeout=30,
            check=True,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(leader)


def test_schema_on_a_terminal_escapes_control_and_bidi_characters(tmp_path: Path) -> None:
    output = run_in_pty("schema", str(hostile_db(tmp_path)))
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output
    assert 'CREATE TABLE "a\\x1b]52;c;aGk=\\x07b\\u202e" (x);' in output


def test_schema_into_a_pipe_is_byte_exact(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "schema", str(hostile_db(tmp_path))],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=True,
    )
    assert result.stdout == f'CREATE TABLE "{HOSTILE}" (x);\n'


def test_error_lines_escape_what_the_database_named(tmp_path: Path) -> None:
    missing = tmp_path / "no\x1b[2Jsuch.db"
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "info", str(missing)],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    assert result.returncode == 1
    assert "\x1b" not in result.stderr
    assert "no\\x1b[2Jsuch.db" in result.stderr


def test_csv_on_a_terminal_ends_its_records_as_lines(tmp_path: Path) -> None:
    path = tmp_path / "csv.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (a, b)")
    conn.execute("INSERT INTO t VALUES (1, 'x\ry')")  # a CR inside a value is still shown
    conn.commit()
    conn.close()
    output = run_in_pty("query", str(path), "select a, b from t", "--format", "csv")
    lines = output.replace("\r\n", "\n").splitlines()  # the terminal's own line ends
    assert lines == ["a,b", '1,"x\\x0dy"']
