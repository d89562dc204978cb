"""Provides the loading of pg_dump's backups into a new PostgreSQL database: a plain
(`sql`) dump through psql, a custom archive through pg_restore.

A plain dump is psql's input, not the driver's: its rows come as `COPY ... FROM stdin`
blocks inside the script and it holds psql's own backslash commands (`\\restrict`), which
only psql parses; a second parser here would be a second psql. psql can also run shell
commands (`\\!`) and write files (`\\o`) from such a script, so the dump is fed to psql
behind a `\\restrict` line of ours, with a random key the file cannot know: psql then
refuses every backslash command of the file. pg_dump's own `\\restrict` line at the head
of the dump (and its `\\unrestrict` at the end) are left out, as psql allows only one.
A psql too old to know `\\restrict` is refused.

Both run in one transaction (`--single-transaction`) and stop at the first error; the
owners the dump names are kept (no `--no-owner`), so they must exist on the server.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import IO

from dbinspect.errors import ConfigError, OperationError
from dbinspect.ops.backup import Progress
from dbinspect.ops.pg_dump import libpq_environment, pg_dump_version, supports_restrict_key
from dbinspect.ops.restore import PG_DUMP_HEAD
from dbinspect.url import DatabaseUrl, mask_url

PG_DUMP_TAIL = b"-- PostgreSQL database dump complete"

_RESTRICT = re.compile(rb"^\\restrict\s+(\S+)\s*$")
_OTHER_FORMATS = "back up with --format custom or json, which need no psql"


def tool(name: str, why: str, fallback: str) -> str:
    """The program `name` on PATH.

    Raises:
        ConfigError: There is none.
    """
    found = shutil.which(name)
    if found is None:
        raise ConfigError(
            f"{name} is not installed (or not on PATH); {why}",
            f"install the PostgreSQL client tools, or {fallback}",
        )
    return found


def load_plain_dump(backup: Path, url: DatabaseUrl, on_progress: Progress | None) -> None:
    """Run the plain dump `backup` with psql on the (new, empty) database `url`.

    Raises:
        ConfigError: psql is missing or too old to restrict the dump's backslash commands.
        OperationError: The dump is truncated, or a statement of it failed.
    """
    psql = tool("psql", "a `sql` backup of PostgreSQL is restored by psql", _OTHER_FORMATS)
    version = pg_dump_version(psql)
    if not supports_restrict_key(version):
        raise ConfigError(
            f"psql {'.'.join(map(str, version))} ({psql}) cannot restrict a dump's "
            "backslash commands (\\restrict), which a dump could use to run shell commands",
            f"install psql 17.6, 16.10, 15.14, 14.19, 13.22 or newer, or {_OTHER_FORMATS}",
        )
    _check_complete(backup)
    key = secrets.token_hex(16)
    with (
        libpq_environment(url) as (conninfo, env),
        tempfile.TemporaryFile() as errors,
        backup.open("rb") as source,
    ):
        command = [psql, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1"]
        process = subprocess.Popen(
            [*command, "--single-transaction", "-d", conninfo, "-f", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )
        assert process.stdin is not None
        try:
            _feed(source, process.stdin, key, on_progress)
            process.stdin.close()
        except BrokenPipeError:
            pass  # psql stopped at an error: its message says which
        except BaseException:
            process.kill()
            process.wait()
            raise
        returncode = process.wait()
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    if returncode != 0:
        raise OperationError(first_error(stderr, "psql"), _owner_hint(stderr))


def _feed(source: IO[bytes], sink: IO[bytes], key: str, on_progress: Progress | None) -> None:
    """Write our `\\restrict` line, then the dump less pg_dump's own restrict pair."""
    sink.write(f"\\restrict {key}\n".encode())
    theirs: bytes | None = None
    preamble = True  # before the dump's first statement
    read = 0
    for line in source:
        read += len(line)
        if preamble:
            found = _RESTRICT.match(line)
            if found:
                theirs = found.group(1)
                continue
            if line.strip() and not line.startswith(b"--"):
                preamble = False
        elif theirs is not None and line.rstrip() == b"\\unrestrict " + theirs:
            continue
        sink.write(line)
        if on_progress is not None and read & 0xFFFF < len(line):
            on_progress(read, None)
    if on_progress is not None:
        on_progress(read, None)


def _check_complete(backup: Path) -> None:
    """A pg_dump plain dump ends with its `dump complete` comment; one cut short does not."""
    with backup.open("rb") as file:
        head = file.read(256)
        if PG_DUMP_HEAD not in head:
            return  # not pg_dump's: a script of the user's, run as it is
        size = file.seek(0, 2)
        file.seek(max(0, size - 4096))
        tail = file.read()
    if PG_DUMP_TAIL not in tail:
        raise OperationError(
            "the dump has no `PostgreSQL database dump complete` line at its end: it is truncated"
        )


def load_custom_archive(backup: Path, url: DatabaseUrl) -> None:
    """Restore the pg_dump custom-format archive `backup` into the new database `url`.

    Raises:
        ConfigError: pg_restore is missing.
        OperationError: The archive is damaged, truncated, too new, or an item failed.
    """
    pg_restore = tool(
        "pg_restore",
        "a `custom` backup is restored by pg_restore",
        "back up with --format json, which needs no client tool",
    )
    with libpq_environment(url) as (conninfo, env):
        command = [pg_restore, "--exit-on-error", "--single-transaction", "--no-password"]
        try:
            done = subprocess.run(
                [*command, "-d", conninfo, str(backup)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=env,
                check=False,
            )
        except OSError as error:
            raise ConfigError(f"cannot run {pg_restore}: {error.strerror}") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        hint = _owner_hint(stderr)
        if "unsupported version" in stderr:
            hint = "this pg_restore is older than the pg_dump that wrote the archive"
        raise OperationError(first_error(stderr, "pg_restore"), hint)


def first_error(stderr: str, program: str) -> str:
    """The tool's first error line, without its `psql:<stdin>:12:` prefix, URLs masked."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    first = next(
        (line for line in lines if re.search(r"\b(ERROR|FATAL|error|fatal):", line)),
        lines[0] if lines else "",
    )
    first = re.sub(rf"^{program}:(\s*<stdin>:\d+:)?\s*", "", first)
    first = re.sub(r"^(error|ERROR):\s*", "", first)
    first = re.sub(r"^from TOC entry [^;]*;\s*", "", first)
    return mask_url(first) or f"{program} failed and gave no reason"


def _owner_hint(stderr: str) -> str | None:
    if re.search(r'role "[^"]*" does not exist', stderr):
        return "the dump keeps its objects' owners: create those roles on this server first"
    return None
