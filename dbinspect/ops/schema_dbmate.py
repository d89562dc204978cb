"""Provides `schema --format dbmate`: the database's schema in dbmate's `db/schema.sql` layout.

As dbmate's `dump` writes it (its drivers' `DumpSchema`): SQLite's part is the sqlite3
shell's `.schema --nosys`, PostgreSQL's is pg_dump with dbmate's options; then the
applied versions of `schema_migrations` as one INSERT, and leading comment lines
dropped with trailing spaces (dbmate's `TrimLeadingSQLComments`). The tools are run as
dbmate runs them rather than imitated. Unlike dbmate, nothing is written to the
database: without a `schema_migrations` table, no INSERT follows the header.
"""

from __future__ import annotations

import shutil
import subprocess

from dbinspect.errors import ConfigError, OperationError
from dbinspect.url import DatabaseUrl


def trim_leading_sql_comments(text: str) -> str:
    """dbmate's `TrimLeadingSQLComments`: skip the leading empty and `--` lines, then
    keep every line with its trailing whitespace removed, each ending in a newline."""
    out = []
    preamble = True
    lines = text.split("\n")
    if text.endswith("\n") or not text:
        lines.pop()  # the empty piece after the final newline is no line to Go's scanner
    for line in lines:
        line = line.removesuffix("\r")  # Go's bufio.ScanLines drops a line's \r
        if preamble and (not line or line.startswith("--")):
            continue
        preamble = False
        out.append(line.rstrip() + "\n")
    return "".join(out)


def _sqlite_schema(url: DatabaseUrl) -> str:
    shell = shutil.which("sqlite3")
    if shell is None:
        raise ConfigError(
            "the sqlite3 shell is not installed (or not on PATH); dbmate's SQLite schema "
            "file is its `.schema --nosys`",
            "install it (Debian: apt-get install sqlite3), or use --format sql",
        )
    assert url.path is not None
    done = subprocess.run(
        [shell, "-readonly", str(url.path), ".schema --nosys"],
        capture_output=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OperationError(f"sqlite3 failed on {url.path}: {reason[0] if reason else ''}")
    return done.stdout.decode("utf-8", "surrogateescape")


def dbmate_schema(url: DatabaseUrl) -> str:
    """The text of dbmate's `db/schema.sql` for the database at `url`.

    Raises:
        ConfigError: The tool it runs (sqlite3 or pg_dump) is missing.
        OperationError, ConnectError: The tool or the database failed.
    """
    from dbinspect.migrate.dbmate_runner import applied_literals

    if url.backend == "postgres":
        from dbinspect.ops.pg_dump import dump_schema_as_dbmate

        body = dump_schema_as_dbmate(url)
        header, indent = "\n--\n-- Dbmate schema migrations\n--\n\n", "    "
    else:
        if url.path is None:
            raise OperationError("schema --format dbmate needs a database file")
        body = _sqlite_schema(url)
        header, indent = "-- Dbmate schema migrations\n", "  "
    found = applied_literals(url)
    tail = header
    if found is not None and found[1]:
        table, literals = found
        joined = f"),\n{indent}(".join(literals)
        tail += f"INSERT INTO {table} (version) VALUES\n{indent}({joined});\n"
    return trim_leading_sql_comments(body + tail)
