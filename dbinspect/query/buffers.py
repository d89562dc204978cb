"""Provides the query console's editor buffers, kept per database across restarts.

One JSON file per database (`<data dir>/buffers/<sha256 of the key>.json`, see
`dbinspect.query.storage`), replaced atomically on each save, mode 0600:

    {"version": 1, "active": 0,
     "buffers": [{"name": "Query 1", "text": "select 1", "cursor": [0, 8]}]}

A missing, unreadable or corrupt file loads as one empty buffer (and `Buffers.problem`
says why, for the UI to show); a buffer entry that is not well formed is skipped. There
is always at least one buffer. A buffer bigger than `MAX_BUFFER_BYTES` is not written:
the file keeps the text it last saved for it (none for a new one), the buffer itself
stays in memory, and `SaveReport.too_large` names it.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from dbinspect.query.storage import StorageError, file_for, storage_error, write_atomically

MAX_BUFFER_BYTES = 1024 * 1024
"""A buffer's text bigger than this (UTF-8) stays in memory only."""
MAX_BUFFERS = 50
MAX_NAME_CHARS = 60
_MAX_FILE_BYTES = MAX_BUFFERS * MAX_BUFFER_BYTES + 1024 * 1024
"""A file bigger than this was not written by dbinspect: it is not read."""
_FORMAT_VERSION = 1

__all__ = ["MAX_BUFFERS", "MAX_BUFFER_BYTES", "Buffer", "Buffers", "BuffersError", "SaveReport"]


class BuffersError(ValueError):
    """A buffer operation that was refused (a name taken or empty, too many buffers)."""


@dataclass(slots=True)
class Buffer:
    """One editor buffer: a name, its text and where the cursor is in it."""

    name: str
    text: str = ""
    cursor: tuple[int, int] = (0, 0)
    """(row, column), as Textual's TextArea counts them."""
    saved_text: str | None = field(default=None, repr=False, compare=False)
    """The text last written to the file (None: never written); what a too-large buffer
    keeps on disk."""

    @property
    def too_large(self) -> bool:
        """Whether the text is too big to be saved."""
        return _too_large(self.text)


@dataclass(frozen=True, slots=True)
class SaveReport:
    """What `Buffers.save` did."""

    error: StorageError | None = None
    """Why nothing could be written (None when the file was written)."""
    too_large: tuple[str, ...] = ()
    """Names of the buffers whose current text was too big to write."""

    @property
    def ok(self) -> bool:
        """Whether every buffer was saved as it is."""
        return self.error is None and not self.too_large


class Buffers:
    """The buffers of one database and which one is active.

    Args:
        key: Identifies the database (`dbinspect.query.history.history_key(url)`).
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.path: Path = file_for("buffers", key, ".json")
        self.buffers: list[Buffer] = [Buffer(_numbered_name(set()))]
        self.active_index = 0
        self.problem: str | None = None
        """Why the saved buffers could not be read, if they could not (the UI says so)."""

    @classmethod
    def load(cls, key: str) -> Buffers:
        """The saved buffers of the database `key`; one empty buffer when there are none."""
        buffers = cls(key)
        try:
            with buffers.path.open("rb") as source:
                data = source.read(_MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return buffers
        except OSError as error:
            buffers.problem = f"saved buffers could not be read: {error.strerror or error}"
            return buffers
        if len(data) > _MAX_FILE_BYTES:
            buffers.problem = "saved buffers were not read: the file is too big"
            return buffers
        try:
            document = json.loads(data)
        except (ValueError, RecursionError):
            buffers.problem = "saved buffers could not be read: the file is not valid JSON"
            return buffers
        loaded = _buffers_of(document)
        if loaded is None:
            buffers.problem = "saved buffers could not be read: the file is not a buffers file"
            return buffers
        if loaded:
            buffers.buffers = loaded
            active = document.get("active") if isinstance(document, dict) else None
            if isinstance(active, int) and not isinstance(active, bool):
                buffers.active_index = min(max(active, 0), len(loaded) - 1)
        return buffers

    @property
    def active(self) -> Buffer:
        """The buffer shown in the editor."""
        return self.buffers[self.active_index]

    @property
    def names(self) -> list[str]:
        """The buffers' names, in order."""
        return [buffer.name for buffer in self.buffers]

    def add(self, name: str | None = None, text: str = "") -> Buffer:
        """Add a buffer after the others and make it active.

        Args:
            name: Its name; `Query N` (the first number not taken) when not given.
            text: Its text.

        Raises:
            BuffersError: There are `MAX_BUFFERS` already, or the name is taken or empty.
        """
        if len(self.buffers) >= MAX_BUFFERS:
            raise BuffersError(f"at most {MAX_BUFFERS} buffers can be open")
        taken = {existing.casefold() for existing in self.names}
        name = _numbered_name(taken) if name is None else self._checked_name(name, None)
        buffer = Buffer(name, text, _end_of(text))
        self.buffers.append(buffer)
        self.active_index = len(self.buffers) - 1
        return buffer

    def remove(self, index: int) -> Buffer:
        """Remove the buffer at `index`; removing the only buffer leaves one empty buffer.

        The active buffer stays active where it is not the one removed; otherwise the
        next one (the previous one for the last) becomes active.

        Raises:
            IndexError: There is no buffer at `index`.
        """
        removed = self.buffers.pop(self._checked_index(index))
        if not self.buffers:
            self.buffers.append(Buffer(_numbered_name(set())))
        if index < self.active_index:
            self.active_index -= 1
        self.active_index = min(self.active_index, len(self.buffers) - 1)
        return removed

    def rename(self, index: int, name: str) -> None:
        """Rename the buffer at `index`.

        Raises:
            IndexError: There is no buffer at `index`.
            BuffersError: The name is empty or another buffer's (ignoring case).
        """
        self._checked_index(index)
        self.buffers[index].name = self._checked_name(name, index)

    def select(self, index: int) -> Buffer:
        """Make the buffer at `index` the active one.

        Raises:
            IndexError: There is no buffer at `index`.
        """
        self.active_index = self._checked_index(index)
        return self.active

    def save(self) -> SaveReport:
        """Write every buffer to the database's file, replacing it at once (mode 0600)."""
        too_large = tuple(buffer.name for buffer in self.buffers if buffer.too_large)
        written: list[tuple[Buffer, str | None]] = []
        records = []
        for buffer in self.buffers:
            text = buffer.saved_text if buffer.too_large else buffer.text
            written.append((buffer, text))
            if text is None:  # too large and never saved: its name alone would mislead
                continue
            records.append({"name": buffer.name, "text": text, "cursor": list(buffer.cursor)})
        active_name = self.active.name
        active = next((i for i, r in enumerate(records) if r["name"] == active_name), 0)
        document = {"version": _FORMAT_VERSION, "active": active, "buffers": records}
        data = json.dumps(document, ensure_ascii=True, indent=1).encode("ascii")
        try:
            write_atomically(self.path, data + b"\n")
        except OSError as error:
            return SaveReport(storage_error("editor buffers", self.path, error), too_large)
        for buffer, text in written:
            buffer.saved_text = text
        return SaveReport(None, too_large)

    def _checked_index(self, index: int) -> int:
        if not 0 <= index < len(self.buffers):
            raise IndexError(f"no buffer {index}")
        return index

    def _checked_name(self, name: str, index: int | None) -> str:
        name = " ".join(name.split())  # one line: it is shown in a tab
        if not name:
            raise BuffersError("a buffer needs a name")
        if any(unicodedata.category(char).startswith("C") for char in name):
            raise BuffersError("a buffer name cannot hold control characters")
        if len(name) > MAX_NAME_CHARS:
            raise BuffersError(f"a buffer name is at most {MAX_NAME_CHARS} characters")
        for other, buffer in enumerate(self.buffers):
            if other != index and buffer.name.casefold() == name.casefold():
                raise BuffersError(f"there is a buffer named {name!r} already")
        return name


def _too_large(text: str) -> bool:
    # Four bytes a character at most: most texts are decided without encoding them.
    if len(text) * 4 <= MAX_BUFFER_BYTES:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > MAX_BUFFER_BYTES


def _numbered_name(taken: set[str]) -> str:
    number = 1
    while f"query {number}" in taken:
        number += 1
    return f"Query {number}"


def _end_of(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines) - 1, len(lines[-1])


def _buffers_of(document: object) -> list[Buffer] | None:
    """The well-formed buffers of a parsed file; None when it is no buffers file at all."""
    if not isinstance(document, dict) or not isinstance(document.get("buffers"), list):
        return None
    buffers: list[Buffer] = []
    seen: set[str] = set()
    for record in document["buffers"][:MAX_BUFFERS]:
        buffer = _buffer_of(record)
        if buffer is None or buffer.name.casefold() in seen:
            continue
        seen.add(buffer.name.casefold())
        buffers.append(buffer)
    return buffers


def _buffer_of(record: object) -> Buffer | None:
    if not isinstance(record, dict):
        return None
    name, text, cursor = record.get("name"), record.get("text"), record.get("cursor")
    if not isinstance(name, str) or not isinstance(text, str):
        return None
    name = " ".join(name.split())[:MAX_NAME_CHARS]
    if not name or any(unicodedata.category(char).startswith("C") for char in name):
        return None
    row, column = 0, 0
    if (
        isinstance(cursor, list)
        and len(cursor) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in cursor)
    ):
        lines = text.split("\n")
        row = min(max(cursor[0], 0), len(lines) - 1)
        column = min(max(cursor[1], 0), len(lines[row]))
    return Buffer(name, text, (row, column), saved_text=text)
