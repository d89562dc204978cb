"""Reads a dbinspect JSON backup as it is laid out, a line at a time, for both restores.

`backup --format json` writes the head (format, schema...) on the first line, then per
table a line about it, its rows one JSON object per line, and `]` closing it; `]}`
closes the file. A restore reads it in that order without holding more than a line, and
says where a file ends early (truncated) or does not parse (damaged).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from dbinspect.errors import OperationError

DAMAGED = "the JSON backup is damaged or not laid out as dbinspect writes it"


def parse_line(line: bytes, closing: str) -> dict[str, Any]:
    """One line of the layout as the JSON object it opens (`closing` completes it)."""
    try:
        found = json.loads(line.decode("utf-8").rstrip() + closing)
    except (UnicodeDecodeError, ValueError):
        raise OperationError(DAMAGED) from None
    if not isinstance(found, dict):
        raise OperationError(DAMAGED)
    return found


class BackupLines:
    """The lines after the head: each table's line about it, then its rows.

    `read` counts the bytes consumed so far, for progress.
    """

    def __init__(self, lines: Iterator[bytes]) -> None:
        self._lines = lines
        self.read = 0

    def head(self) -> dict[str, Any]:
        """The first line: the backup's format, database and schema."""
        return parse_line(next(self._lines, b""), "]}")

    def tables(self) -> Iterator[dict[str, Any]]:
        """Each table's line about it; read its `rows` before asking for the next.

        Raises:
            OperationError: The file ends before its closing `]}` (truncated).
        """
        for line in self._lines:
            self.read += len(line)
            if line.strip() == b"]}":
                return
            yield parse_line(line.lstrip(b","), "]}")
        raise OperationError("the JSON backup ends before its last table: it is truncated")

    def rows(self) -> Iterator[dict[str, Any]]:
        """The current table's rows, each a JSON object of its columns.

        Raises:
            OperationError: A row does not parse (damaged), or the file ends inside the
                table (truncated).
        """
        for line in self._lines:
            self.read += len(line)
            if line.startswith(b"]"):
                return
            if not line.strip():
                continue
            try:
                row = json.loads(line.rstrip().rstrip(b","))
            except ValueError:
                raise OperationError(DAMAGED) from None
            if not isinstance(row, dict):
                raise OperationError(DAMAGED)
            yield row
        raise OperationError("the JSON backup ends in the middle of a table: it is truncated")
