"""Provides the query console's history: statements run, kept per database, searchable.

One JSON Lines file per database (`<data dir>/history/<sha256 of the key>.jsonl`, see
`dbinspect.query.storage`), one `{"sql": ..., "at": ...}` object a line, oldest first.
A statement is appended with one write; once the file holds a tenth more than
`MAX_ENTRIES`, it is rewritten (atomically) with the newest `MAX_ENTRIES`.

Failures never stop the console:
- a file that is missing, unreadable or not JSON Lines reads as the entries it does hold
  (none at worst); a line that is not an entry is skipped;
- a statement that cannot be written (a read-only folder, a full disk) is kept in memory
  for the session, and `History.add` returns a `StorageError` the first time writing
  fails, so that the UI says so once; it returns None again while writing keeps failing,
  and after a write that succeeds the next failure is reported again.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dbinspect.query.storage import (
    StorageError,
    append,
    database_key,
    file_for,
    storage_error,
    write_atomically,
)
from dbinspect.url import DatabaseUrl

MAX_ENTRIES = 1000
"""How many statements a database's history keeps."""
MAX_SQL_CHARS = 100_000
"""A longer statement (a pasted dump) is recalled in this session but not written."""
_REWRITE_AT = MAX_ENTRIES + MAX_ENTRIES // 10
"""The file is trimmed back to `MAX_ENTRIES` once it holds this many lines."""
_MAX_FILE_BYTES = 64 * 1024 * 1024
"""A file bigger than this was not written by dbinspect: it is not read."""

__all__ = ["MAX_ENTRIES", "History", "HistoryCursor", "HistoryEntry", "history_key"]


def history_key(url: DatabaseUrl) -> str:
    """The key a database's history (and buffers) are filed under; holds no password."""
    return database_key(url)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One statement the console ran."""

    sql: str
    at: str
    """When, as ISO 8601 UTC text (`2026-11-30T21:05:00+00:00`)."""


class History:
    """The statements run on one database, oldest first.

    Args:
        key: Identifies the database (`history_key(url)`); only its hash names the file.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.path: Path = file_for("history", key, ".jsonl")
        self._entries: list[HistoryEntry] = []
        self._lines_on_disk = 0
        self._failing = False

    @classmethod
    def load(cls, key: str) -> History:
        """The history of the database `key`, read from its file (empty when unreadable)."""
        history = cls(key)
        history._entries, history._lines_on_disk = _read(history.path)
        return history

    @property
    def entries(self) -> list[HistoryEntry]:
        """Every entry, newest last."""
        return list(self._entries)

    @property
    def failing(self) -> bool:
        """Whether the last write failed (entries since then are in memory only)."""
        return self._failing

    def add(self, sql: str, *, now: datetime | None = None) -> StorageError | None:
        """Record a statement that was run.

        A blank statement, and one equal to the newest entry, is not recorded.

        Args:
            sql: The statement as the user ran it.
            now: The time to record (the current time when not given).

        Returns:
            A `StorageError` when the history could not be written and this is the first
            such failure since the last successful write; None otherwise.
        """
        if not sql.strip() or (self._entries and self._entries[-1].sql == sql):
            return None
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        entry = HistoryEntry(sql, moment.isoformat(timespec="seconds"))
        self._entries.append(entry)
        if len(self._entries) > MAX_ENTRIES:
            del self._entries[: len(self._entries) - MAX_ENTRIES]
        if len(sql) > MAX_SQL_CHARS:
            return None
        try:
            if self._lines_on_disk + 1 >= _REWRITE_AT:
                self._rewrite()
            else:
                append(self.path, _line(entry))
                self._lines_on_disk += 1
        except OSError as error:
            first = not self._failing
            self._failing = True
            return storage_error("query history", self.path, error) if first else None
        self._failing = False
        return None

    def _rewrite(self) -> None:
        # Read again first: another dbinspect on the same database may have appended.
        on_disk, _ = _read(self.path)
        newest = [*on_disk, self._entries[-1]] if on_disk else self._entries
        kept = [entry for entry in newest if len(entry.sql) <= MAX_SQL_CHARS][-MAX_ENTRIES:]
        write_atomically(self.path, b"".join(_line(entry) for entry in kept))
        self._lines_on_disk = len(kept)

    def search(self, text: str, *, limit: int | None = None) -> list[HistoryEntry]:
        """Entries holding every whitespace-separated word of `text`, newest first.

        Case-insensitive substring match; a statement run several times is listed once,
        at its newest. An empty `text` matches everything.
        """
        words = [word.casefold() for word in text.split()]
        found: list[HistoryEntry] = []
        seen: set[str] = set()
        for entry in reversed(self._entries):
            if entry.sql in seen:
                continue
            folded = entry.sql.casefold()
            if all(word in folded for word in words):
                seen.add(entry.sql)
                found.append(entry)
                if limit is not None and len(found) >= limit:
                    break
        return found

    def cursor(self, draft: str = "") -> HistoryCursor:
        """A cursor for up/down recall, starting below the newest entry.

        Args:
            draft: The text the user is typing; `HistoryCursor.newer` returns it when
                stepping down past the newest entry.
        """
        return HistoryCursor([entry.sql for entry in self._entries], draft)


class HistoryCursor:
    """Steps through a history's statements with up (`older`) and down (`newer`).

    It starts past the newest entry, on the draft. `older` moves one entry back and
    returns its statement, or None at the oldest (the position stays there). `newer`
    moves one entry forward; from the newest entry it returns the draft; on the draft it
    returns None. The statements are a snapshot, taken when the cursor was made.
    """

    def __init__(self, statements: list[str], draft: str = "") -> None:
        self._statements = statements
        self.draft = draft
        self._index = len(statements)
        """`len(statements)` stands for the draft."""

    @property
    def on_draft(self) -> bool:
        """Whether the cursor is on the draft (not on a history entry)."""
        return self._index == len(self._statements)

    def older(self) -> str | None:
        """The statement one step older, or None when there is none."""
        if self._index == 0:
            return None
        self._index -= 1
        return self._statements[self._index]

    def newer(self) -> str | None:
        """The statement one step newer, the draft after the newest, or None on the draft."""
        if self.on_draft:
            return None
        self._index += 1
        return self.draft if self.on_draft else self._statements[self._index]


def _line(entry: HistoryEntry) -> bytes:
    # ensure_ascii keeps each line free of U+2028 and other separators a reader could
    # split on; surrogates from a lone-surrogate paste become escapes too.
    text = json.dumps({"sql": entry.sql, "at": entry.at}, ensure_ascii=True)
    return (text + "\n").encode("ascii")


def _read(path: Path) -> tuple[list[HistoryEntry], int]:
    """The entries of a history file and its number of lines; ([], 0) when unreadable."""
    try:
        with path.open("rb") as source:
            data = source.read(_MAX_FILE_BYTES + 1)
    except OSError:
        return [], 0
    if len(data) > _MAX_FILE_BYTES:
        return [], 0
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    entries: list[HistoryEntry] = []
    for line in lines:
        entry = None
        with contextlib.suppress(ValueError, RecursionError):
            entry = _entry(json.loads(line))
        if entry is not None:
            entries.append(entry)
    return entries[-MAX_ENTRIES:], len(lines)


def _entry(value: object) -> HistoryEntry | None:
    if not isinstance(value, dict):
        return None
    sql, at = value.get("sql"), value.get("at", "")
    if not isinstance(sql, str) or not sql.strip() or not isinstance(at, str):
        return None
    return HistoryEntry(sql, at)
