"""File names, tracking rows, paths and table names never act on the terminal.

Human-facing lines (`migrate run`, `migrate info`, `info`, errors, logs) are escaped in a
pipe and on a terminal alike; documents (`schema`, `--json`) keep their exact bytes.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hostile_text import (
    BIDI,
    C1_CSI,
    CLEAR,
    HOSTILE,
    OSC2,
    OSC52,
    dbinspect,
    names,
    quote,
    raw_controls,
    run_in_pty,
    text,
    write_migration,
)
from hypothesis import given, settings

ESCAPED_PARTS = ("\\x1b]52;c;aGk=\\x1b\\", "\\x1b[2J", "\\x9b31m", "\\u202eevil", "\\x1b]2;pwned")


def hostile_folder(tmp_path: Path) -> Path:
    """Two migrations named with OSC 52, CSI, C1, bidi and OSC 2 sequences."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / f"1_{OSC52}x.sql").write_text(f"CREATE TABLE {quote(HOSTILE)} (v);\n")
    (folder / f"2_{CLEAR}{C1_CSI}{BIDI}{OSC2}.sql").write_text("SELECT 1;\n")
    return folder


def hostile_row(database: Path, version: int = 7) -> None:
    """A tracking row, with no file, whose description holds every hostile sequence."""
    conn = sqlite3.connect(database)
    with conn:
        conn.execute(
            "INSERT INTO _sqlx_migrations VALUES (?, ?, '2024-01-01 00:00:00', 1, x'00', 1)",
            (version, HOSTILE),
        )
    conn.close()


def migrate(*args: str) -> list[str]:
    """`migrate ARGS -D sqlite:app.db --source migrations`, as argument words."""
    return ["migrate", *args, "-D", "sqlite:app.db", "--source", "migrations"]


def assert_escaped(output: str) -> None:
    assert raw_controls(output) == [], output
    for part in ESCAPED_PARTS[:2]:
        assert part in output, (part, output)


def test_migrate_run_and_info_escape_file_names_in_a_pipe(tmp_path: Path) -> None:
    hostile_folder(tmp_path)
    ran = dbinspect(*migrate("run"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.decode().splitlines()
    assert lines[0].startswith("Applied 1/migrate \\x1b]52;c;aGk=\\x1b\\x (")
    assert lines[1].startswith("Applied 2/migrate \\x1b[2J\\x9b31m\\u202eevil\\u2066x\\u2069")
    assert raw_controls(text(ran)) == []

    info = dbinspect(*migrate("info"), cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert info.stdout.decode().splitlines()[0] == "1/installed \\x1b]52;c;aGk=\\x1b\\x"
    assert raw_controls(text(info)) == []


def test_migrate_run_and_info_escape_file_names_on_a_terminal(tmp_path: Path) -> None:
    hostile_folder(tmp_path)
    status, output = run_in_pty(migrate("run"), cwd=tmp_path)
    assert status == 0, output
    assert "Applied 1/migrate \\x1b]52;c;aGk=\\x1b\\x" in output
    assert raw_controls(output) == [], output
    status, output = run_in_pty(migrate("info"), cwd=tmp_path)
    assert status == 0, output
    assert "2/installed \\x1b[2J\\x9b31m\\u202eevil" in output
    assert raw_controls(output) == [], output


def test_a_tracking_rows_description_is_escaped_but_exact_in_json(tmp_path: Path) -> None:
    hostile_folder(tmp_path)
    assert dbinspect(*migrate("run"), cwd=tmp_path).returncode == 0
    hostile_row(tmp_path / "app.db")

    info = dbinspect(*migrate("info"), cwd=tmp_path)
    shown = info.stdout.decode().splitlines()[-1]
    assert shown.startswith("7/installed (missing file) a\\x1b]52;c;aGk=\\x1b\\b\\x1b[2Jc")
    assert raw_controls(text(info)) == []
    status, output = run_in_pty(migrate("info"), cwd=tmp_path)
    assert status == 0, output
    assert "(missing file) a\\x1b]52" in output and raw_controls(output) == []

    # The engine refuses the missing file: the error line names it, escaped.
    refused = dbinspect(*migrate("run"), cwd=tmp_path)
    assert refused.returncode == 1
    assert raw_controls(text(refused)) == []
    assert refused.stderr.decode().startswith("error: ")

    # JSON escapes by its own rules: the bytes are ASCII-safe, the value is exact.
    listed = dbinspect(*migrate("info", "--json"), cwd=tmp_path)
    assert raw_controls(listed.stdout.decode()) == []
    rows = json.loads(listed.stdout)
    assert rows[-1]["description"] == HOSTILE
    assert rows[1]["description"] == f"{CLEAR}{C1_CSI}{BIDI}{OSC2}"


def test_dry_run_warnings_and_the_log_file_are_escaped(tmp_path: Path) -> None:
    folder = hostile_folder(tmp_path)
    (folder / f"3_{CLEAR}pragma.sql").write_text("PRAGMA foreign_keys = OFF;\n")
    dry = dbinspect(*migrate("run", "--dry-run"), cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "Can apply 3/migrate \\x1b[2Jpragma" in dry.stdout.decode()
    assert raw_controls(text(dry)) == []

    log = tmp_path / "run.log"
    ran = dbinspect(*migrate("run", "--log-file", str(log)), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert raw_controls(text(ran)) == []
    logged = log.read_text()
    assert "applied 1 \\x1b]52;c;aGk=\\x1b\\x" in logged
    assert raw_controls(logged) == [], logged


def test_info_escapes_a_hostile_path_in_a_pipe_and_on_a_terminal(tmp_path: Path) -> None:
    folder = tmp_path / f"dir{OSC52}{CLEAR}{C1_CSI}{BIDI}"
    folder.mkdir()
    sqlite3.connect(folder / "app.db").execute("CREATE TABLE t (x)").connection.close()
    piped = dbinspect("info", folder / "app.db", cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert_escaped(text(piped))
    status, output = run_in_pty(["info", folder / "app.db"], cwd=tmp_path)
    assert status == 0, output
    assert_escaped(output)


def test_errors_and_usage_errors_escape_what_they_quote(tmp_path: Path) -> None:
    missing = tmp_path / f"no{OSC52}{CLEAR}{C1_CSI}{BIDI}"
    for args in (
        ["migrate", "info", "-D", "sqlite:app.db", "--source", str(missing)],
        ["info", str(missing / "app.db")],
        ["schema", str(missing / "app.db")],
    ):
        result = dbinspect(*args, cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert_escaped(text(result))
        status, output = run_in_pty(args, cwd=tmp_path)
        assert status == 1 and output.startswith("error: "), output
        assert_escaped(output)
    usage = dbinspect("migrate", "run", f"--x{CLEAR}{C1_CSI}", cwd=tmp_path)
    assert usage.returncode == 2
    assert "--x\\x1b[2J\\x9b31m" in usage.stderr.decode()
    assert raw_controls(text(usage)) == []


def schema_db(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "schema.db"
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE {quote(name)} ({quote(name + 'c')} TEXT)")
    conn.close()
    return path


def test_schema_piped_is_the_exact_bytes_of_schema_o_file(tmp_path: Path) -> None:
    database = schema_db(tmp_path, HOSTILE)
    piped = dbinspect("schema", database, cwd=tmp_path)
    assert piped.returncode == 0, piped.stderr
    written = dbinspect("schema", database, "-o", tmp_path / "b.sql", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert piped.stdout == (tmp_path / "b.sql").read_bytes()
    assert f"CREATE TABLE {quote(HOSTILE)}".encode() in piped.stdout
    # Replaying the dump creates the very same table name (CSI and all).
    replayed = sqlite3.connect(tmp_path / "replayed.db")
    replayed.executescript(piped.stdout.decode())
    names_there = [row[0] for row in replayed.execute("SELECT name FROM sqlite_schema")]
    replayed.close()
    assert names_there == [HOSTILE]


def test_schema_json_is_exact_in_value_and_the_same_piped_or_written(tmp_path: Path) -> None:
    database = schema_db(tmp_path, HOSTILE)
    piped = dbinspect("schema", "--format", "json", database, cwd=tmp_path)
    dbinspect("schema", "--format", "json", database, "-o", tmp_path / "b.json", cwd=tmp_path)
    assert piped.stdout == (tmp_path / "b.json").read_bytes()
    assert raw_controls(piped.stdout.decode()) == []  # C1 and bidi as \\u escapes too
    assert json.loads(piped.stdout)["tables"][0]["name"] == HOSTILE


def test_schema_on_a_terminal_is_escaped(tmp_path: Path) -> None:
    database = schema_db(tmp_path, HOSTILE)
    status, output = run_in_pty(["schema", database], cwd=tmp_path)
    assert status == 0, output
    assert_escaped(output)


@settings(max_examples=10, deadline=None)
@given(first=names(), second=names())
def test_random_names_never_reach_the_terminal_raw(
    tmp_path_factory: pytest.TempPathFactory, first: str, second: str
) -> None:
    tmp_path = tmp_path_factory.mktemp("names")
    folder = tmp_path / "migrations"
    folder.mkdir()
    write_migration(folder, 1, first, f"CREATE TABLE {quote('t1' + first)} (v);\n")
    write_migration(folder, 2, second, f"CREATE TABLE {quote('t2' + second)} (v);\n")
    ran = dbinspect(*migrate("run"), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    hostile_row(tmp_path / "app.db", version=9)
    conn = sqlite3.connect(tmp_path / "app.db")
    with conn:
        conn.execute("UPDATE _sqlx_migrations SET description = ? WHERE version = 9", (second,))
    conn.close()
    # A plain path, not a URL: `?`, `#` and `%` would be read as URL syntax.
    place = tmp_path / ("d" + first.translate(str.maketrans("?#%", "___")))
    place.mkdir()
    database = tmp_path / "app.db"

    outputs = [
        text(ran),
        text(dbinspect(*migrate("info"), cwd=tmp_path)),
        text(dbinspect(*migrate("run", "--dry-run", "--ignore-missing"), cwd=tmp_path)),
    ]
    # SQL on a terminal keeps its tabs (and newlines): they only move the cursor on.
    assert raw_controls(run_in_pty(["schema", database], cwd=tmp_path)[1], allow="\t") == []
    database.rename(place / "app.db")
    outputs.append(text(dbinspect("info", place / "app.db", cwd=tmp_path)))
    for output in outputs:
        assert raw_controls(output) == [], output

    piped = dbinspect("schema", place / "app.db", cwd=tmp_path)
    dbinspect("schema", place / "app.db", "-o", tmp_path / "b.sql", cwd=tmp_path)
    assert piped.stdout == (tmp_path / "b.sql").read_bytes()
    assert quote("t1" + first).encode() in piped.stdout
