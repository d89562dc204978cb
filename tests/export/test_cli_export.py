"""`dbinspect export`: exact bytes to stdout or a file, one error line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from testkit import MakeDb, RunCli, clean_env

SCRIPT = """
CREATE TABLE t(id INTEGER PRIMARY KEY, v);
INSERT INTO t(v) VALUES (NULL), (''), (X'00FF'), ('caf' || char(233) || ',x'), (1e999);
"""


def test_csv_to_stdout_is_the_exact_bytes(tmp_path: Path, make_db: MakeDb) -> None:
    database = make_db(tmp_path, SCRIPT)
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "export", str(database), "t"],
        capture_output=True, env=clean_env(), cwd=tmp_path, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == (b'id,v\r\n1,\r\n2,""\r\n3,X\'00FF\'\r\n4,"caf\xc3\xa9,x"\r\n5,inf\r\n')
    assert result.stderr == b""


def test_format_from_the_output_file_and_a_line_saying_so(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli
) -> None:
    database = make_db(tmp_path, SCRIPT)
    result = run_cli("export", database, "t", "-o", "rows.jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "Exported 5 rows to rows.jsonl\n"
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert rows[2] == {"id": 3, "v": {"$blob": "00ff"}}
    assert rows[4] == {"id": 5, "v": {"$real": "Infinity"}}


def test_sql_format_and_database_url(tmp_path: Path, make_db: MakeDb, run_cli: RunCli) -> None:
    database = make_db(tmp_path, SCRIPT)
    result = run_cli("export", "--format", "sql", "--database-url", f"sqlite:{database}", "t")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "BEGIN;" and lines[-1] == "COMMIT;"
    assert lines[3] == """INSERT INTO "t"("id", "v") VALUES(3, X'00FF');"""


def test_bad_input_is_one_error_line(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    database = make_db(tmp_path, SCRIPT)
    one_line_error(run_cli("export", database, "missing"), "no such table", "missing")
    one_line_error(
        run_cli("export", database, "t", "-o", tmp_path / "no" / "dir.csv"), "cannot write"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.db"]
    usage = run_cli("export", database, "t", "--format", "xml")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
