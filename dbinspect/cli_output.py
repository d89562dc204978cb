"""Writes the CLI's output, by kind: human lines always escaped, documents as exact bytes.

Human-facing lines (`info`, `migrate info`, "Applied ...", warnings, errors) quote file
names, paths, descriptions and messages from the database: they are escaped whether or
not stdout is a terminal, so a pipe into `less -R` or a log is as safe as a terminal.
Documents (`schema`, `--json`) promise exact bytes, so they are written as UTF-8 to the
binary stream: `click.echo` would drop CSI sequences when stdout is not a terminal, and
`schema > a.sql` would then differ from `schema -o a.sql`.
"""

from __future__ import annotations

import sys
from typing import TextIO

from dbinspect.textsafe import escape_controls

__all__ = ["OutputError", "document_bytes", "say", "say_block", "write_document"]


class OutputError(Exception):
    """stdout or stderr refused a write: a full device, a closed pipe, an I/O error."""

    def __init__(self, error: OSError) -> None:
        super().__init__(f"cannot write the output: {error.strerror or error}")
        self.error = error


def say(line: str, *, err: bool = False) -> None:
    """Print one human-facing line, every control, C1 and bidi character escaped.

    A newline inside `line` is escaped too: one record, one line.
    """
    _write_text(sys.stderr if err else sys.stdout, escape_controls(line) + "\n")


def say_block(text: str, *, err: bool = False) -> None:
    """Print human-facing text of several lines (a usage message): lines kept, rest escaped."""
    _write_text(sys.stderr if err else sys.stdout, escape_controls(text, keep="\n"))


def document_bytes(text: str) -> bytes:
    """A document's exact bytes: UTF-8, and a name that was not UTF-8 as its own bytes."""
    return text.encode("utf-8", "surrogateescape")


def write_document(text: str) -> None:
    """Write machine output to stdout: its exact UTF-8 bytes in a pipe or a file.

    On a terminal the reader is a person, so controls in names are escaped (newlines and
    tabs kept), as `less` would: the bytes are only promised where a program reads them.
    A CSV record's CRLF ends its line there, as a newline does.
    """
    stdout = sys.stdout
    if stdout.isatty():
        _write_text(stdout, escape_controls(text.replace("\r\n", "\n"), keep="\n\t"))
        return
    binary = getattr(stdout, "buffer", None)
    if binary is None:  # a text-only stream (an embedding host's): exactness is its business
        _write_text(stdout, text)
        return
    try:
        stdout.flush()  # anything printed before goes first
        rest = memoryview(document_bytes(text))
        while rest:
            # A write cut short by a signal (the reader closing the pipe) reports fewer
            # bytes rather than an error: write the rest, which then raises.
            rest = rest[binary.write(rest) :]
        binary.flush()
    except OSError as error:
        raise OutputError(error) from None


def _write_text(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
        stream.flush()
    except OSError as error:
        raise OutputError(error) from None
