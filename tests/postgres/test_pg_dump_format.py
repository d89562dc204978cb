"""`schema --format sql` on PostgreSQL runs pg_dump; without a usable one it says so in
one line and points to `--format json`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from testkit import RunCli


def _fake_pg_dump(folder: Path, version_line: str) -> Path:
    """A `pg_dump` that only states a version, as an old client installed first on PATH."""
    folder.mkdir()
    program = folder / "pg_dump"
    program.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    program.chmod(0o755)
    return folder


def test_without_pg_dump_it_says_so_and_points_to_json(
    pg_url: str, run_cli: RunCli, one_line_error: Callable[..., str], tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = run_cli("schema", "--format", "sql", pg_url, env={"PATH": str(empty)})
    one_line_error(done, "pg_dump is not installed", "--format json")
    assert done.stdout == ""
    json_still_works = run_cli("schema", "--format", "json", pg_url, env={"PATH": str(empty)})
    assert json_still_works.returncode == 0, json_still_works.stderr


def test_a_pg_dump_older_than_the_server_says_so(
    pg_url: str, run_cli: RunCli, one_line_error: Callable[..., str], tmp_path: Path
) -> None:
    old = _fake_pg_dump(tmp_path / "old", "pg_dump (PostgreSQL) 9.6.24")
    path = f"{old}{os.pathsep}{os.environ.get('PATH', '')}"
    done = run_cli("schema", "--format", "sql", pg_url, env={"PATH": path})
    line = one_line_error(done, "pg_dump 9.6.24", "is older than the server", "--format json")
    assert "install pg_dump 1" in line  # the server's major version, 10 or later
    assert done.stdout == ""


def test_a_program_that_is_not_pg_dump_is_refused(
    pg_url: str, run_cli: RunCli, one_line_error: Callable[..., str], tmp_path: Path
) -> None:
    odd = _fake_pg_dump(tmp_path / "odd", "something else entirely")
    done = run_cli("schema", "--format", "sql", pg_url, env={"PATH": f"{odd}{os.pathsep}"})
    one_line_error(done, "does not say its version", "--format json")


def test_the_dump_goes_to_a_file_with_o(pg_url: str, run_cli: RunCli, tmp_path: Path) -> None:
    from pgkit import run_sql

    run_sql(pg_url, "CREATE TABLE note (id int PRIMARY KEY, body text)")
    target = tmp_path / "schema.sql"
    done = run_cli("schema", "--format", "sql", pg_url, "-o", target)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    dumped = target.read_text()
    assert "CREATE TABLE public.note (" in dumped and "PRIMARY KEY (id)" in dumped


def test_a_user_who_cannot_read_the_tables_gets_json_but_not_pg_dump(
    pg_url: str, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    import uuid

    from pgkit import run_sql

    role = f"dbi_reader_{uuid.uuid4().hex[:10]}"
    run_sql(pg_url, f"CREATE TABLE secret (id int PRIMARY KEY); CREATE ROLE {role} LOGIN")
    try:
        as_reader = pg_url.replace("postgres@", f"{role}@", 1)
        refused = run_cli("schema", "--format", "sql", as_reader)
        one_line_error(refused, "pg_dump failed", "permission denied", "--format json")
        listed = run_cli("schema", "--format", "json", as_reader)
        assert listed.returncode == 0, listed.stderr
        assert "secret" in listed.stdout
        info = run_cli("info", as_reader)
        assert info.returncode == 0, info.stderr
        lines = dict(line.split(":", 1) for line in info.stdout.splitlines())
        assert lines["User"].strip() == role
    finally:
        run_sql(pg_url, f"DROP ROLE {role}")
