"""Recognises other migration tools' tracking tables and reads their histories.

dbinspect only reads these tables: it never creates, changes or locks them. A history
says which versions the tool applied (with names and times where it records them), the
current head, and what failed or was left dirty. Where the tool's migrations folder is
known (`--other-source DIR`, `DBINSPECT_OTHER_SOURCE`, or the folder the tool uses by
default in the working directory), the files not applied yet are listed as pending, for
the tools whose version is in the file name.
"""

from __future__ import annotations

import os
from pathlib import Path

from dbinspect.errors import MigrationError
from dbinspect.migrate.foreign import files
from dbinspect.migrate.foreign.catalog import Connection
from dbinspect.migrate.foreign.records import (
    ForeignHistory,
    HistoryEntry,
    PendingFile,
)
from dbinspect.migrate.foreign.tools import TOOLS, Reading, Tool, table_names
from dbinspect.url import DatabaseUrl

__all__ = [
    "SOURCE_ENV",
    "ForeignHistory",
    "HistoryEntry",
    "PendingFile",
    "read_histories",
    "source_from_environment",
]

SOURCE_ENV = "DBINSPECT_OTHER_SOURCE"
"""The other tool's migrations folder, where `--other-source` is not given (the app's way)."""


def source_from_environment() -> Path | None:
    """The folder `DBINSPECT_OTHER_SOURCE` names, or None."""
    value = os.environ.get(SOURCE_ENV, "").strip()
    return Path(value) if value else None


def _folder(tool: Tool, source: Path | None, cwd: Path) -> Path | None:
    if tool.file_versions is None:
        return None
    if source is not None:
        return source if source.is_absolute() else cwd / source
    for candidate in tool.folders:
        folder = cwd / candidate
        if folder.is_dir():
            return folder
    return None


def read_histories(
    url: DatabaseUrl, *, source: Path | None = None, cwd: Path | None = None
) -> list[ForeignHistory]:
    """The histories of every other tool whose tracking table is in the database.

    Args:
        url: The database; opened read-only. A SQLite file that does not exist has none.
        source: The other tool's migrations folder (else `DBINSPECT_OTHER_SOURCE`, else
            the tool's default folder under `cwd` when it exists).
        cwd: Where relative folders start; the working directory by default.

    Raises:
        ConnectError: The database cannot be opened.
        MigrationError: The catalog or a tracking table cannot be read.
    """
    if url.path is not None and not url.path.exists():
        return []
    cwd = cwd or Path.cwd()
    source = source or source_from_environment()
    connection = Connection(url)
    try:
        found = connection.tables(table_names())
        histories = []
        claimed: set[str] = set()
        for tool in TOOLS:
            table = next(
                (found[name] for name in tool.tables if name in found and name not in claimed),
                None,
            )
            if table is None or not tool.matches(table, found):
                continue
            claimed.add(table.name)
            try:
                reading = tool.read(connection, table, found)
            except MigrationError as error:  # one unreadable table hides no other tool
                reading = Reading((), None, problems=(error.one_line(),))
            folder = _folder(tool, source, cwd)
            pending: tuple[PendingFile, ...] = ()
            if folder is not None and tool.file_versions is not None:
                applied_versions = {e.version for e in reading.entries if e.state == "applied"}
                is_applied = reading.applied or applied_versions.__contains__
                pending = files.pending(tool.file_versions(folder), is_applied)
            siblings = tuple(
                found[name].label for name in (*tool.siblings, *tool.extras) if name in found
            )
            histories.append(
                ForeignHistory(
                    tool=tool.name,
                    table=table.label,
                    entries=reading.entries,
                    head=reading.head,
                    problems=reading.problems,
                    locks=reading.locks,
                    notes=reading.notes,
                    siblings=siblings,
                    folder=folder,
                    pending=pending,
                )
            )
        return histories
    finally:
        connection.close()
