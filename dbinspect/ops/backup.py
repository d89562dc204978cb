"""Provides `backup`: a database copied to a file as SQLite, a SQL dump, JSON, or pg_dump's.

Every file is written the exporter's way (`replacing_file`): under a temporary name
beside the target, mode 0600, and renamed over it only once complete and verified, so a
full disk, an error or a kill leaves no partial file and never writes through a link.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from dbinspect import sqlite_driver as driver
from dbinspect.errors import OperationError
from dbinspect.export.exporter import replacing_file
from dbinspect.textsafe import file_stem
from dbinspect.url import DatabaseUrl

BackupFormat = Literal["sqlite", "sql", "json", "custom"]
SQLITE_FORMATS: tuple[BackupFormat, ...] = ("sqlite", "sql", "json")
POSTGRES_FORMATS: tuple[BackupFormat, ...] = ("sql", "custom", "json")
EXTENSIONS: dict[BackupFormat, str] = {
    "sqlite": "sqlite",
    "sql": "sql",
    "json": "json",
    "custom": "dump",
}

Progress = Callable[[int, int | None], None]
"""Told the bytes done so far and the total when known (SQLite's pages), now and then."""

PAGES_PER_STEP = 4096
"""Pages the backup API copies between two progress reports: 16 MB of 4 KB pages."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """What a backup wrote."""

    path: Path
    """The backup file."""
    size: int
    """Its size in bytes."""
    detail: str
    """What was checked or counted, for the one line the CLI prints."""


def default_target(url: DatabaseUrl, fmt: BackupFormat, now: datetime | None = None) -> Path:
    """`<db>-<UTC timestamp>.<ext>` next to a SQLite file, in the working folder for a server.

    Raises:
        OperationError: That folder cannot be written: the user is asked for `-o`.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    if url.backend == "sqlite" and url.path is not None:
        folder, stem = url.path.resolve().parent, file_stem(url.path.stem) or "backup"
    else:
        folder, stem = Path.cwd(), _database_name(url)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OperationError(
            f"cannot write the backup next to the database: {folder} is not writable",
            "pass -o FILE to write it elsewhere",
        )
    return folder / f"{stem}-{stamp}.{EXTENSIONS[fmt]}"


def _database_name(url: DatabaseUrl) -> str:
    """The database a PostgreSQL URL connects to, found as libpq finds it.

    Its `dbname` (the path, or a `dbname=` parameter however spelled), else PGDATABASE,
    else the user's name, which libpq takes for the database's when none is given.
    """
    import getpass

    from dbinspect import pg_driver

    name = (
        pg_driver.database_name(url)
        or os.environ.get("PGDATABASE")
        or pg_driver.user_name(url)
        or os.environ.get("PGUSER")
        or getpass.getuser()
    )
    return file_stem(name) or "postgres"


def open_source(url: DatabaseUrl) -> driver.Connection:
    """A read-only connection to the SQLite file `url` names (never creating one).

    Raises:
        OperationError: There is no such file, or it cannot be opened.
    """
    if url.path is None:
        raise OperationError("an in-memory database has nothing to back up or restore")
    if not url.path.is_file():
        raise OperationError(f"no database file at {url.path}")
    try:
        conn = driver.connect(source_uri(url.path), uri=True, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    except driver.Error as error:
        raise OperationError(f"cannot read {url.path}: {error}") from None
    return conn


def source_uri(path: Path) -> str:
    """The read-only URI every reader of a backup opens the SQLite file `path` by."""
    return path.resolve().as_uri() + "?mode=ro"


def backup_sqlite_file(
    url: DatabaseUrl, target: Path, on_progress: Progress | None = None
) -> BackupResult:
    """Copy a SQLite database into `target` with the online backup API, then verify it.

    The source connection holds one read transaction for the whole copy, so the backup
    API copies a single snapshot, page step after page step, while other processes go on
    writing (in WAL mode; with a rollback journal they wait, as for any reader).

    Raises:
        OperationError: The source cannot be read, or the copy fails `integrity_check`.
        ExportError: The file cannot be written (a full disk, no permission).
    """
    source = open_source(url)
    try:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_schema").fetchall()  # the snapshot
        with replacing_file(target) as (out, temp):
            out.close()
            copy_into_file(source, temp, on_progress)
            problems = integrity_problems(temp)
            if problems:
                raise OperationError(
                    f"the copy of {url.path} fails integrity_check: {problems[0]}",
                    "run `dbinspect check` on the database",
                )
    finally:
        source.close()
    return BackupResult(target, target.stat().st_size, "integrity_check ok")


def copy_into_file(
    source: driver.Connection, path: Path, on_progress: Progress | None = None
) -> None:
    """Copy `source` into the SQLite file at `path` with the backup API, step by step.

    Raises:
        OSError: The file could not be written (SQLite's full-disk and I/O errors).
        OperationError: Any other failure of the copy.
    """
    page_size = int(source.execute("PRAGMA page_size").fetchone()[0])

    def report(_status: int, remaining: int, total: int) -> None:
        if on_progress is not None:
            on_progress((total - remaining) * page_size, total * page_size)

    try:
        target = driver.connect(path, isolation_level=None)
    except driver.Error as error:
        raise OperationError(f"cannot create {path}: {error}") from None
    try:
        source.backup(target, pages=PAGES_PER_STEP, progress=report)
    except driver.Error as error:
        raise _write_error(error, path) from None
    finally:
        target.close()


def _write_error(error: driver.Error, path: Path) -> Exception:
    if driver.primary_code(error) in (driver.SQLITE_FULL, driver.SQLITE_IOERR):
        return OSError(28, f"{error} (the disk is full or failing)", str(path))
    return OperationError(f"cannot copy the database: {error}")


def integrity_problems(path: Path) -> list[str]:
    """What `PRAGMA integrity_check` finds wrong with the SQLite file at `path` (none: [])."""
    try:  # read-write: a copy of a WAL database needs its -wal and -shm files made
        conn = driver.connect(path, isolation_level=None)
    except driver.Error as error:
        return [str(error)]
    try:
        found = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    except driver.Error as error:
        return [str(error)]
    finally:
        conn.close()
    return [] if found == ["ok"] else found


def run_backup(
    url: DatabaseUrl,
    fmt: BackupFormat | None,
    output: Path | None,
    on_progress: Progress | None = None,
) -> BackupResult:
    """Back up `url` in `fmt` (SQLite: `sqlite`, PostgreSQL: `sql` by default) to `output`
    (default: `default_target`).

    Raises:
        OperationError: The format does not apply to this database, or the backup failed.
        ExportError: The file cannot be written.
    """
    postgres = url.backend == "postgres"
    chosen: BackupFormat = fmt or ("sql" if postgres else "sqlite")
    allowed = POSTGRES_FORMATS if postgres else SQLITE_FORMATS
    if chosen not in allowed:
        raise OperationError(
            f"--format {chosen} does not apply to a {'PostgreSQL' if postgres else 'SQLite'} "
            "database",
            f"use one of: {', '.join(allowed)}",
        )
    if not postgres and url.path is not None and not url.path.is_file():
        raise OperationError(f"no database file at {url.path}")
    target = output if output is not None else default_target(url, chosen)
    if postgres:
        from dbinspect.ops.backup_postgres import backup_postgres

        return backup_postgres(url, chosen, target, on_progress)
    if chosen == "sqlite":
        return backup_sqlite_file(url, target, on_progress)
    from dbinspect.ops.backup_files import dump_to_file

    return dump_to_file(url, chosen, target, on_progress)
