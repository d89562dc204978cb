"""The Help pane's commands on PostgreSQL run as printed: dbinspect's, psql's and pg_dump's.

Each printed dbinspect command runs on a database of its own, migrated to version 2 of the
sample set, and is checked for its exit status and for what it applied. sqlx-cli is not
installed here: its commands are checked for flags sqlx-cli has and a URL without secrets.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from pgkit import fresh_database, query
from tui.test_help_commands import SQLX_FLAGS, SQLX_VALUED, run_printed

from dbinspect.migrate import run_migrations
from dbinspect.migrate.runner import migration_status
from dbinspect.migrate.runner import run_migrations as run_sync
from dbinspect.tui.panes.help import HelpContext, commands, shell_url
from dbinspect.url import parse_url

OUTCOMES = {
    "Apply next (a)": [1, 2, 3],
    "Apply all (A)": [1, 2, 3, 4, 5],
    "Revert last (r)": [1],
    "Open this app": [1, 2, 3, 4, 5],  # the configured folder is applied on launch
    "... without migrating": [1, 2],
}


def write_migrations(folder: Path) -> Path:
    """Five reversible migrations, 1 to 5, each creating a table (the sample set is SQLite's)."""
    folder.mkdir(parents=True)
    for version in range(1, 6):
        stem = folder / f"{version:04d}_table_{version}"
        Path(f"{stem}.up.sql").write_text(f"CREATE TABLE t{version} (id bigint PRIMARY KEY);\n")
        Path(f"{stem}.down.sql").write_text(f"DROP TABLE t{version};\n")
    return folder


def applied(url: str) -> list[int]:
    rows = query(url, "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
    return [int(str(v)) for (v,) in rows]


def printed(url: str, project: Path) -> list[tuple[str, str, str]]:
    statuses = migration_status(parse_url(url), project / "migrations")
    return commands(HelpContext(shell_url(parse_url(url)), "migrations", None, True, statuses))


def test_every_printed_command_runs_on_postgresql(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_migrations(project / "migrations")
    with fresh_database() as url:
        run_sync(parse_url(url), project / "migrations", target_version=2)
        rows = printed(url, project)
    ran = 0
    for what, ours, theirs in rows:
        if not ours.startswith("dbinspect "):
            assert ours.startswith("(") and theirs == "-", (what, ours)
            continue
        with fresh_database() as url:
            run_sync(parse_url(url), project / "migrations", target_version=2)
            # The same row, filled in for this database.
            command = next(o for w, o, _ in printed(url, project) if w == what)
            result = run_printed(command, project)
            status = result if isinstance(result, int) else result.returncode
            assert status == 0, (command, result)
            ran += 1
            if what in OUTCOMES:
                assert applied(url) == OUTCOMES[what], command
            if theirs.startswith(("psql ", "pg_dump ")):
                theirs = next(t for w, _, t in printed(url, project) if w == what)
                shell = subprocess.run(
                    shlex.split(theirs), cwd=project, capture_output=True, text=True, timeout=60
                )
                assert shell.returncode == 0, (theirs, shell.stderr)
                assert shell.stdout.strip(), theirs
            elif theirs.startswith("sqlx "):
                check_sqlx_form(theirs)
    assert ran >= 10


def check_sqlx_form(command: str) -> None:
    """Only flags sqlx-cli has, and a postgres URL it parses, without a password."""
    argv = shlex.split(command)
    assert argv[:2] == ["sqlx", "migrate"] and argv[2] in SQLX_FLAGS, command
    args = argv[3:]
    values: dict[str, str] = {}
    while args:
        arg = args.pop(0)
        if arg.startswith("-"):
            assert arg in SQLX_FLAGS[argv[2]], (arg, command)
            if arg in SQLX_VALUED:
                values[arg] = args.pop(0)
    if argv[2] != "add":
        parts = urlsplit(values["--database-url"])
        assert parts.scheme in ("postgres", "postgresql") and parts.hostname, command
        assert parts.password is None, command


def test_a_password_is_left_out_of_every_printed_command(tmp_path: Path) -> None:
    url = "postgres://app:s3cret@127.0.0.1:5432/appdb?sslmode=disable"
    rows = commands(HelpContext(shell_url(parse_url(url)), "migrations", None))
    text = "\n".join(f"{ours} {theirs}" for _, ours, theirs in rows)
    assert "s3cret" not in text and "***" not in text
    assert "postgres://app@127.0.0.1:5432/appdb?sslmode=disable" in text
    assert "pg_dump --schema-only" in text and "psql " in text


async def test_the_async_facade_migrates_postgresql_too(pg_url: str, tmp_path: Path) -> None:
    results = await run_migrations(parse_url(pg_url), write_migrations(tmp_path / "m"))
    assert [r.version for r in results] == applied(pg_url)
