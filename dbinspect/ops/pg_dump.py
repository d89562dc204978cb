"""Provides pg_dump, run as it is: `schema --format sql` (`--schema-only`) and `backup`.

PostgreSQL's DDL (ownership, defaults, partitions, functions, grants) is pg_dump's to
write; dbinspect does not keep a second generator. pg_dump refuses a server newer than
itself, so the versions are compared first and a mismatch is one clear line.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from dbinspect import pg_driver
from dbinspect.errors import ConfigError, OperationError
from dbinspect.url import DatabaseUrl, mask_url

LOCK_WAIT_TIMEOUT_MS = pg_driver.INSPECTION_LOCK_TIMEOUT_MS
"""pg_dump waits this long for a table another session holds exclusively, then fails."""

DBMATE_RESTRICT_KEY = "dbmate"
"""The key dbmate's `dump` passes to pg_dump (`--restrict-key=dbmate`), kept in its
db/schema.sql; `dbmate load` drops every backslash line before the server runs the file."""
# pg_dump's own `\restrict` line: after the opening comment, before anything the server
# says (its version, then the objects).
_RESTRICT_LINE = re.compile(r"\A(?:--[^\n]*\n|\n)*\\restrict ([A-Za-z0-9]+)\n")

# pg_dump has `--restrict-key` from these releases on (and from 18.0).
_RESTRICT_KEY_SINCE = {17: 6, 16: 10, 15: 14, 14: 19, 13: 22}

_FALLBACK = "use --format json, which needs no pg_dump"


def dump_schema(url: DatabaseUrl) -> str:
    """The database's schema as `pg_dump --schema-only` writes it.

    Raises:
        ConfigError: pg_dump is not installed, or is older than the server.
        ConnectError: The server cannot be reached.
        OperationError: pg_dump failed.
    """
    program, dump_version = checked_pg_dump(url)
    done = _run(program, dump_version, url, ["--schema-only"])
    return keyed_by_content(done.decode("utf-8", "surrogateescape"))


def keyed_by_content(dump: str) -> str:
    """`dump` with pg_dump's random `\\restrict` key replaced by a hash of everything else.

    pg_dump (17.6, 16.10, 15.14... on) wraps its output in `\\restrict KEY` and
    `\\unrestrict KEY`: psql refuses every backslash command in between, so a name or a
    comment from a hostile server cannot smuggle in `\\! cmd` (CVE-2025-8714). Its key is
    random, so two dumps of one schema differ. A fixed key (`--restrict-key=dbinspect`)
    would make them equal but is public: the server could write `\\unrestrict dbinspect`
    into a comment and then any command. Here the key becomes the SHA-256 of the dump
    with the random key left out: the same schema gives the same bytes, and a line that
    would end the restriction has to hold the hash of a text that holds that very line,
    which cannot be found. The random key is pg_dump's secret, so only pg_dump's own
    lines hold it.
    """
    found = _RESTRICT_LINE.search(dump)
    if found is None:  # an older pg_dump, without the lines
        return dump
    key = found.group(1)
    digest = hashlib.sha256(dump.replace(key, "").encode("utf-8", "surrogateescape")).hexdigest()
    return dump.replace(key, digest)


def dump_schema_as_dbmate(url: DatabaseUrl) -> str:
    """The schema as dbmate's `dump` runs pg_dump for `db/schema.sql` (its options, its key).

    Raises:
        As `dump_schema`.
    """
    program, dump_version = checked_pg_dump(url)
    options = ["--format=plain", "--schema-only", "--no-privileges", "--no-owner"]
    # dbmate's key, not `keyed_by_content`'s: the bytes `dbmate dump` writes, which
    # `dbmate load` reads with its backslash lines dropped (never through psql).
    done = _run(program, dump_version, url, options, restrict_key=DBMATE_RESTRICT_KEY)
    return done.decode("utf-8", "surrogateescape")


def checked_pg_dump(url: DatabaseUrl) -> tuple[str, tuple[int, ...]]:
    """The pg_dump on PATH and its version, once known to be able to dump `url`'s server.

    Raises:
        ConfigError: pg_dump is not installed, or is older than the server.
        ConnectError: The server cannot be reached.
    """
    program = find_pg_dump()
    dump_version = pg_dump_version(program)
    with pg_driver.connect(url, read_only=True) as conn:
        server_num = conn.info.server_version
    server = _major_minor(server_num)
    major = server[:1] if server[0] >= 10 else server[:2]  # 9.6 was a major version
    if dump_version[: len(major)] < major:
        raise ConfigError(
            f"pg_dump {_shown(dump_version)} ({program}) is older than the server "
            f"(PostgreSQL {_shown(server)}) and cannot dump it",
            f"install pg_dump {_shown(major)} or newer, or {_FALLBACK}",
        )
    return program, dump_version


def run_pg_dump(url: DatabaseUrl, options: list[str], out: BinaryIO) -> None:
    """Run `pg_dump options` on `url` (checked by `checked_pg_dump`), its output to `out`.

    Raises:
        ConfigError: pg_dump is missing or older than the server.
        OperationError: pg_dump failed.
    """
    program, dump_version = checked_pg_dump(url)
    _run(program, dump_version, url, options, out)


def find_pg_dump() -> str:
    """The pg_dump on PATH.

    Raises:
        ConfigError: There is none.
    """
    found = shutil.which("pg_dump")
    if found is None:
        raise ConfigError(
            "pg_dump is not installed (or not on PATH); `schema --format sql` and `backup` "
            "on PostgreSQL run it",
            f"install the PostgreSQL client tools, or {_FALLBACK}",
        )
    return found


def pg_dump_version(program: str) -> tuple[int, ...]:
    """pg_dump's version, e.g. (15, 20) from `pg_dump (PostgreSQL) 15.20 (Debian ...)`.

    Raises:
        ConfigError: It does not run, or does not say its version.
    """
    try:
        done = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ConfigError(f"cannot run {program}: {error}", _FALLBACK) from None
    found = re.search(r"\(PostgreSQL\)\s+(\d+(?:\.\d+)*)", done.stdout)
    if done.returncode != 0 or found is None:
        raise ConfigError(f"{program} does not say its version: is it pg_dump?", _FALLBACK)
    return tuple(int(part) for part in found.group(1).split("."))


def _major_minor(version_num: int) -> tuple[int, ...]:
    """`server_version_num` as a version: 150020 -> (15, 20), 90624 -> (9, 6, 24)."""
    if version_num >= 100000:
        return (version_num // 10000, version_num % 10000)
    return (version_num // 10000, version_num // 100 % 100, version_num % 100)


def _shown(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def supports_restrict_key(version: tuple[int, ...]) -> bool:
    major, minor = version[0], (version[1] if len(version) > 1 else 0)
    return major >= 18 or minor >= _RESTRICT_KEY_SINCE.get(major, 1_000)


@contextlib.contextmanager
def libpq_environment(url: DatabaseUrl) -> Iterator[tuple[str, dict[str, str]]]:
    """The `--dbname` and the environment for one of libpq's tools (pg_dump, psql,
    pg_restore) to reach `url`, its secrets kept off the command line.

    Raises:
        ConfigError: libpq cannot read the URL.
    """
    conninfo, secrets = pg_driver.split_secrets(url)
    env = dict(os.environ)
    if "password" in secrets:
        env["PGPASSWORD"] = secrets["password"]
    with tempfile.TemporaryDirectory(prefix="dbinspect-") as folder:
        if "sslpassword" in secrets:
            # libpq takes an SSL key's password from no environment variable: a service
            # file readable by this user only carries it instead of the command line.
            service = Path(folder) / "pg_service.conf"
            service.touch(mode=0o600)
            service.write_text(f"[dbinspect]\nsslpassword={secrets['sslpassword']}\n")
            env["PGSERVICEFILE"] = str(service)
            conninfo += " service=dbinspect"
        yield conninfo, env


def _run(
    program: str,
    version: tuple[int, ...],
    url: DatabaseUrl,
    options: list[str],
    out: BinaryIO | None = None,
    restrict_key: str | None = None,
) -> bytes:
    """pg_dump's output (or b"" once written to `out`)."""
    arguments = [
        program,
        *options,
        "--no-password",  # never a prompt: the password comes from the URL, env or .pgpass
        "--encoding=UTF8",
        f"--lock-wait-timeout={LOCK_WAIT_TIMEOUT_MS}",
    ]
    if restrict_key is not None and supports_restrict_key(version):
        arguments.append(f"--restrict-key={restrict_key}")
    with libpq_environment(url) as (conninfo, env):
        try:
            done = subprocess.run(
                [*arguments, f"--dbname={conninfo}"],
                stdout=subprocess.PIPE if out is None else out,
                stderr=subprocess.PIPE,
                env=env,
                check=False,
            )
        except OSError as error:
            raise ConfigError(f"cannot run {program}: {error.strerror}", _FALLBACK) from None
    if done.returncode != 0:
        raise _failure(url, done.stderr.decode("utf-8", "replace"))
    return done.stdout or b""


def _failure(url: DatabaseUrl, stderr: str) -> OperationError:
    """pg_dump's first error line, as one line of ours (any password masked)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    first = next((line for line in lines if "error:" in line), lines[0] if lines else "")
    first = re.sub(r"^pg_dump:\s*(error:\s*)?", "", first)
    if "connection to server" in first:
        return OperationError(pg_driver.connect_error(url, RuntimeError(stderr)).one_line())
    hint = None
    if "lock" in first:
        hint = (
            "a table held by another session's lock fails it after "
            f"{LOCK_WAIT_TIMEOUT_MS / 1000:g} s; try again, or {_FALLBACK}"
        )
    elif "permission denied" in first:
        hint = f"pg_dump must be able to read every table; {_FALLBACK} and reads the catalog only"
    return OperationError(
        f"pg_dump failed on {url.masked}: {mask_url(first) or 'no reason given'}", hint
    )
