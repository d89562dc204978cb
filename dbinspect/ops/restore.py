"""Provides `restore`: a backup put back in place of a database, checked before and atomic.

The backup's format is read from its first bytes, never from its name. It is loaded
into a scratch database first (beside the target, on the same disk) and checked with
`integrity_check`, so a corrupt or truncated backup fails there and the live database
is never touched. The current database is then snapshotted (a `sqlite` backup, beside
it) and replaced through SQLite's backup API into the live file: one write transaction
of the target, so a crash at any moment leaves the old database or the new one.

PostgreSQL (`restore_postgres`): the backup goes into a new database, which then takes
the live one's name; the live one is kept under a snapshot name. A backup of the other
kind of database (a SQLite file or dump into PostgreSQL, a pg_dump archive into SQLite)
is refused before anything is done.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from dbinspect import sqlite_driver as driver
from dbinspect.errors import OperationError
from dbinspect.ops.backup import (
    PAGES_PER_STEP,
    Progress,
    backup_sqlite_file,
    integrity_problems,
)
from dbinspect.url import DatabaseUrl

SNAPSHOT_TOLD = "Snapshot of the database as it was: "
"""How the line told about the snapshot begins: the app keeps it apart from the notes."""

BackupKind = Literal["sqlite", "custom", "json", "sql"]

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
PG_DUMP_HEAD = b"-- PostgreSQL database dump"


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore did."""

    kind: BackupKind
    """The backup's format, as read from its content."""
    snapshot: str | None
    """Where the database as it was before is kept (a file, or a PostgreSQL database)."""


def detect_format(path: Path) -> BackupKind:
    """The backup's format from its first bytes.

    Raises:
        OperationError: The file cannot be read, or is empty.
    """
    try:
        with path.open("rb") as file:
            head = file.read(4096)
    except OSError as error:
        raise OperationError(f"cannot read the backup {path}: {error.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "custom"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise OperationError(f"the backup {path} is empty")
    return "json" if text.startswith(b"{") else "sql"


def backup_backend(path: Path, kind: BackupKind) -> Literal["sqlite", "postgres"] | None:
    """Which database the backup was taken from, where its head says (None: unknown)."""
    if kind == "sqlite":
        return "sqlite"
    if kind == "custom":
        return "postgres"
    with path.open("rb") as file:
        head = file.read(4096)
    if kind == "json":
        found = re.search(rb'"backend":\s*"(sqlite|postgres)"', head)
        return None if found is None else found.group(1).decode()  # type: ignore[return-value]
    if PG_DUMP_HEAD in head[:256]:
        return "postgres"
    if re.match(rb"(?:\s|--[^\n]*\n)*PRAGMA\s+(?:foreign_keys|encoding)\b", head, re.I):
        return "sqlite"  # the first line of every SQLite dump of ours and of sqlite3's
    return None


def run_restore(
    backup: Path,
    url: DatabaseUrl,
    *,
    force: bool,
    on_progress: Progress | None = None,
    tell: Callable[[str], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> RestoreResult:
    """Replace the database `url` names with the backup's content.

    Args:
        backup: The backup file, in any format `backup` writes.
        url: The database to replace (created if it does not exist).
        force: Replace a database that holds tables, views or other objects.
        on_progress: Told the bytes loaded so far.
        tell: Told where the snapshot is, once it is written; on PostgreSQL also
            what a json backup's restore rebuilds otherwise than the backup says.
        on_step: PostgreSQL: told each step as it starts (loading, swapping).

    Raises:
        OperationError: The backup does not fit this database, is damaged, or the
            database holds data and `force` was not given. The database is untouched.
    """
    kind = detect_format(backup)
    source = backup_backend(backup, kind)
    if url.backend == "postgres":
        if source == "sqlite":
            raise OperationError(
                f"{backup} is a {kind} backup of a SQLite database: it restores into SQLite only"
            )
        from dbinspect.ops.restore_postgres import restore_postgres

        snapshot = restore_postgres(
            backup, kind, url, force=force, on_progress=on_progress, tell=tell, on_step=on_step
        )
        return RestoreResult(kind, snapshot)
    if kind == "custom":
        raise OperationError(
            f"{backup} is a pg_dump custom-format archive: it restores into PostgreSQL only"
        )
    if source == "postgres":
        raise OperationError(
            f"{backup} is a {kind} backup of a PostgreSQL database: it restores into "
            "PostgreSQL only"
        )
    if url.path is None:
        raise OperationError("restore needs a database file, not an in-memory database")
    target = url.path
    objects = _object_count(target)
    if objects and not force:
        raise OperationError(
            f"{target} holds {objects} schema object{'s' if objects != 1 else ''}: "
            "restore would replace them",
            "pass --force to replace the database (a snapshot of it is kept)",
        )
    with tempfile.TemporaryDirectory(dir=target.resolve().parent, prefix=".dbinspect-") as tmp:
        scratch = Path(tmp) / "restored.db"
        _load_scratch(backup, kind, scratch, on_progress)
        problems = integrity_problems(scratch)
        if problems:
            raise OperationError(f"the backup {backup} is damaged: {problems[0]}")
        kept = None
        if objects:
            kept = _snapshot_path(target)
            backup_sqlite_file(url, kept)
            if tell is not None:
                tell(f"{SNAPSHOT_TOLD}{kept}")
        _replace(scratch, target, on_progress)
    return RestoreResult(kind, None if kept is None else str(kept))


def _object_count(target: Path) -> int:
    if not target.exists() or target.stat().st_size == 0:
        return 0
    try:
        conn = driver.connect(target.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0])
        finally:
            conn.close()
    except driver.Error as error:
        raise OperationError(f"cannot read {target}: {error}") from None


def _snapshot_path(target: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return target.resolve().parent / f"{target.stem}-before-restore-{stamp}.sqlite"


def _load_scratch(backup: Path, kind: BackupKind, scratch: Path, progress: Progress | None) -> None:
    """Build the scratch database from the backup; any failure is the backup's."""
    from dbinspect.ops.restore_load import ScratchLoader, load_json, load_sql

    try:
        if kind == "sqlite":
            problems = integrity_problems_readonly(backup)
            if problems:
                raise OperationError(f"integrity_check: {problems[0]}")
            source = driver.connect(backup.resolve().as_uri() + "?mode=ro", uri=True)
            try:
                target = driver.connect(scratch)
                try:
                    source.backup(target)
                finally:
                    target.close()
            finally:
                source.close()
            return
        loader = ScratchLoader(scratch)
        try:
            with backup.open("rb") as file:
                (load_sql if kind == "sql" else load_json)(file, loader, progress)
        finally:
            loader.close()
    except OperationError as error:
        raise OperationError(f"the backup {backup} does not load: {error.message}") from None
    except driver.Error as error:
        raise OperationError(f"the backup {backup} does not load: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise OperationError(f"the backup {backup} is damaged: {error!r}") from None


def integrity_problems_readonly(path: Path) -> list[str]:
    """`integrity_check` on a file opened read-only (a backup is never written to)."""
    try:
        conn = driver.connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
        try:
            found = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except driver.Error as error:
        return [str(error)]
    return [] if found == ["ok"] else found


def _replace(scratch: Path, target: Path, progress: Progress | None) -> None:
    """Copy the scratch database over the live one with the backup API: one transaction
    of the target, which a crash rolls back."""
    try:
        live = driver.connect(target, isolation_level=None, timeout=30)
    except driver.Error as error:
        raise OperationError(f"cannot open {target}: {error}") from None
    try:
        wal = str(live.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
        source = driver.connect(scratch, isolation_level=None)
        try:
            page_size = int(live.execute("PRAGMA page_size").fetchone()[0])
            if wal and int(source.execute("PRAGMA page_size").fetchone()[0]) != page_size:
                # Into a WAL database the backup API copies only pages of its own size.
                source.execute(f"PRAGMA page_size = {page_size}")
                source.execute("VACUUM")

            def report(_status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress((total - remaining) * page_size, total * page_size)

            source.backup(live, pages=PAGES_PER_STEP, progress=report)
        finally:
            source.close()
    except driver.Error as error:
        raise OperationError(f"cannot replace {target}: {error} (it is unchanged)") from None
    finally:
        live.close()
