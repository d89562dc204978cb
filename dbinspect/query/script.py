"""Runs a buffer of SQL statement by statement and streams each result's rows as bytes.

This is `dbinspect query`'s engine: the statements are split as the console splits them
(`statements_in`), run through a `ConsoleSession` (read-only unless `write`), and each
row-returning statement's rows are read forward a batch at a time from the cursor the
statement opened, so a result of any size costs one batch of memory. CSV and JSON Lines
bytes come from the shared exporter's `RowEncoder`, so a value reads the same as in
`dbinspect export` and the Data pane's export.

Output per format (README.md, "query", says the same):

- `csv`: each result is a header record and its rows (RFC 4180, CRLF); results are
  separated by an empty record (a lone CRLF).
- `jsonl`: one JSON object per row, every result's rows one after the other.
- `json`: each result is one JSON array of objects, `[` to `]` and a newline; several
  results are several arrays in a row (`jq` reads them in turn, `jq -s` as one list).
- `table`: an aligned text table per result, for people (see `TableWriter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import unicodedata
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Literal

from dbinspect.errors import QueryError
from dbinspect.export.batch import RowEncoder
from dbinspect.export.encode import csv_field
from dbinspect.export.exporter import CHUNK_ROWS, ByteSink
from dbinspect.models import SqlDialect, Value
from dbinspect.query.console import (
    ConsoleSession,
    ResultCursor,
    Row,
    StatementError,
    batch_for,
)
from dbinspect.query.pager import RESULT
from dbinspect.query.statements import BufferStatement, statements_in
from dbinspect.textsafe import escape_controls

OutputFormat = Literal["table", "csv", "json", "jsonl"]
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("table", "csv", "json", "jsonl")

Tell = Callable[[str], None]
"""Told a human line about the run (a note, a commit): the CLI prints it on stderr."""

READ_ONLY_REFUSAL = "read-only: this statement writes; switch write mode on to run it"


FIRST_BATCH_ROWS = 1
"""Rows read first, to learn their size before asking for a whole batch (`batch_for`)."""


async def read_forward(cursor: ResultCursor, batch_rows: int) -> AsyncGenerator[list[Row], None]:
    """Every row of `cursor`, `batch_rows` at a time, read on from where it stands.

    `rows()` at the cursor's own place reads on from the statement already running, where
    `stream()` would run it a second time (on SQLite, an `ORDER BY` would sort twice).
    The next batch is read (on the driver's side) while this one is written, as the
    exporter does: one batch ahead, so memory stays two batches.
    """
    wanted = min(batch_rows, FIRST_BATCH_ROWS)  # their size is not known yet
    rows = await cursor.rows(0, wanted)
    offset = len(rows)
    while rows:
        # Rows of megabytes each are read a few at a time (`batch_for`).
        following = (
            asyncio.ensure_future(cursor.rows(offset, wanted := batch_for(rows, batch_rows)))
            if len(rows) == wanted
            else None
        )
        try:
            yield rows
        except BaseException:
            if following is not None:
                following.cancel()
            raise
        if following is None:
            return
        rows = await following
        offset += len(rows)


class ResultWriter:
    """Writes results to `out` in one format; `start`, `rows`..., `end` per result."""

    def __init__(self, out: ByteSink, dialect: SqlDialect = "sqlite") -> None:
        self.out = out
        self.dialect = dialect
        """The database's: its values are written as an export of its tables writes them."""
        self.results = 0

    def start(self, columns: Sequence[str], non_text: frozenset[int] = frozenset()) -> None:
        """A result begins; `non_text` as `ResultCursor.non_text`."""
        self.results += 1

    def rows(self, rows: Sequence[Row]) -> None:
        raise NotImplementedError

    def end(self, count: int) -> None:
        """The result ended after `count` rows."""


class CsvWriter(ResultWriter):
    def start(self, columns: Sequence[str], non_text: frozenset[int] = frozenset()) -> None:
        if self.results:
            self.out.write(b"\r\n")
        super().start(columns, non_text)
        self._encoder = RowEncoder("csv", RESULT, columns, self.dialect)
        self.out.write(self._encoder.head())

    def rows(self, rows: Sequence[Row]) -> None:
        self.out.write(self._encoder.rows(rows))


class JsonLinesWriter(ResultWriter):
    def start(self, columns: Sequence[str], non_text: frozenset[int] = frozenset()) -> None:
        super().start(columns, non_text)
        self._encoder = RowEncoder("jsonl", RESULT, columns, self.dialect)

    def rows(self, rows: Sequence[Row]) -> None:
        self.out.write(self._encoder.rows(rows))


class JsonWriter(JsonLinesWriter):
    """JSON Lines' objects, exactly, as the items of one array per result.

    A JSON Lines record holds no raw newline (JSON escapes it inside strings, and the
    encoder escapes U+2028 and U+2029 too), so its line ends are where items end.
    """

    def start(self, columns: Sequence[str], non_text: frozenset[int] = frozenset()) -> None:
        super().start(columns, non_text)
        self._first = True
        self.out.write(b"[")

    def rows(self, rows: Sequence[Row]) -> None:
        lines = self._encoder.rows(rows)
        self.out.write((b"\n" if self._first else b",\n") + lines[:-1].replace(b"\n", b",\n"))
        self._first = False

    def end(self, count: int) -> None:
        self.out.write(b"]\n" if self._first else b"\n]\n")


TABLE_WIDTH = 40
LAYOUT_ROWS = 1_000
"""Rows the table's column widths are chosen from (fewer when they are long)."""
"""The widest a column is made (the Data pane's grid's limit); longer values end in `…`."""


def _char_width(char: str) -> int:
    # Hand-written rather than a dependency: Rich's cell widths may not be imported outside
    # the app, and this is all a table needs (wide East Asian characters take two cells,
    # combining marks and format characters none).
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    """The terminal cells `text` takes."""
    return len(text) if text.isascii() else sum(map(_char_width, text))


def _cut(text: str, width: int) -> str:
    """`text` in at most `width` cells, ending in `…` when it was longer."""
    if text_width(text) <= width:
        return text
    used, kept = 1, []
    for char in text:
        used += _char_width(char)
        if used > width:
            break
        kept.append(char)
    return "".join(kept) + "…"


def table_cell(value: Value, *, text: bool = True) -> str:
    """A value as a table shows it: one line, NULL as `NULL`, the empty text as `""`, a
    line break as `↵`, other controls escaped (`\\x1b`), a BLOB as `X'hex'`.

    `text` is False for a column of another type than a string: its empty value (a
    `void` result) is no empty string but nothing, shown as nothing, as psql shows it;
    NULL is still `NULL`, so the two stay apart."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if value == "":
            return '""' if text else ""
        return escape_controls(value[: TABLE_WIDTH * 4].replace("\n", "↵"))
    if isinstance(value, bytes):
        value = value[:TABLE_WIDTH]  # as many bytes as the widest column can show
    return csv_field(value)


def _is_number(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class TableWriter(ResultWriter):
    """An aligned text table per result, as psql draws one, followed by `(N rows)`.

    Streamed: the column widths are chosen from the header and the first batch of rows
    (at most `TABLE_WIDTH` cells), and a later value wider than its column is cut with
    `…`. Values are escaped for a terminal: the table is for people, the other formats
    carry the exact values.
    """

    def start(self, columns: Sequence[str], non_text: frozenset[int] = frozenset()) -> None:
        if self.results:
            self.out.write(b"\n")
        super().start(columns, non_text)
        self._text = [index not in non_text for index in range(len(columns))]
        self._names = [_cut(table_cell(name) if name else "", TABLE_WIDTH) for name in columns]
        self._widths: list[int] | None = None
        self._first: list[Row] = []
        """Rows held until the layout is chosen: `LAYOUT_ROWS`, or `BATCH_BYTES` of them."""

    def _layout(self, rows: Sequence[Row]) -> None:
        widths = [text_width(name) for name in self._names]
        for row in rows:
            for index, value in enumerate(row):
                cell = table_cell(value, text=self._text[index])
                widths[index] = max(widths[index], text_width(cell))
        self._widths = [min(width, TABLE_WIDTH) for width in widths]
        header = " | ".join(
            self._pad(name, width, False)
            for name, width in zip(self._names, self._widths, strict=True)
        )
        rule = "-+-".join("-" * width for width in self._widths)
        self.out.write(_lines([" " + header, "-" + rule + "-"]))

    @staticmethod
    def _pad(text: str, width: int, right: bool) -> str:
        text = _cut(text, width)
        gap = " " * (width - text_width(text))
        return gap + text if right else text + gap

    def rows(self, rows: Sequence[Row]) -> None:
        if self._widths is None:
            self._first += rows
            if len(self._first) < LAYOUT_ROWS and batch_for(self._first, LAYOUT_ROWS) > len(
                self._first
            ):
                return  # the widths come from more rows than the first few
            rows, self._first = self._first, []
            self._layout(rows)
        widths = self._widths or []
        lines = [
            " "
            + " | ".join(
                self._pad(table_cell(value, text=text), width, _is_number(value))
                for value, width, text in zip(row, widths, self._text, strict=True)
            )
            for row in rows
        ]
        self.out.write(_lines(lines))

    def end(self, count: int) -> None:
        if self._widths is None:
            rows, self._first = self._first, []
            self._layout(rows)
            if rows:
                self.rows(rows)
        self.out.write(_lines([f"({count:,} row{'' if count == 1 else 's'})"]))


def _lines(lines: Sequence[str]) -> bytes:
    """Lines of a table, without trailing spaces. Every cell was escaped (`table_cell`):
    the lines hold no control or surrogate characters."""
    return "".join(line.rstrip(" ") + "\n" for line in lines).encode()


WRITERS: dict[OutputFormat, type[ResultWriter]] = {
    "table": TableWriter,
    "csv": CsvWriter,
    "json": JsonWriter,
    "jsonl": JsonLinesWriter,
}


def line_column(buffer: str, offset: int) -> tuple[int, int]:
    """The line and column (both from 1, in characters) of `offset` in `buffer`."""
    line_start = buffer.rfind("\n", 0, offset) + 1
    return buffer.count("\n", 0, offset) + 1, offset - line_start + 1


def _ran(number: int, committed: bool) -> str:
    """What ran before statement `number` failed."""
    if number == 1:
        return ""
    done = "statement 1" if number == 2 else f"statements 1-{number - 1}"
    return f"; {done} ran{', their changes committed' if committed else ''}"


def _failure(
    error: StatementError, statement: BufferStatement, buffer: str, committed: bool
) -> QueryError:
    """The one-line error for `statement`: its number, where it failed, what ran before."""
    place = f"statement {statement.number}"
    if error.position is not None:
        line, column = line_column(buffer, statement.start + error.position)
        place += f" (line {line}:{column})"
    message, hint = error.message, error.hint
    if message == READ_ONLY_REFUSAL:
        message, hint = "read-only: this statement writes", "pass --write to run it"
    elif message.endswith("; switch write mode on to run it"):  # the app's words for it
        message, hint = message.removesuffix("; switch write mode on to run it"), "pass --write"
    return QueryError(f"{place}: {message}{_ran(statement.number, committed)}", error.sql, hint)


async def run_buffer(
    session: ConsoleSession,
    buffer: str,
    fmt: OutputFormat,
    out: ByteSink,
    *,
    write: bool = False,
    tell: Tell | None = None,
    on_commit: Tell | None = None,
    batch_rows: int = CHUNK_ROWS,
) -> int:
    """Run every statement of `buffer` in order, writing each result's rows to `out`.

    Read-only unless `write`: then each statement that changed anything is committed
    before the next one runs (and `on_commit` told so). The first failure rolls back its
    own statement and stops. `tell` hears the console's notes (returned rows not kept).
    Returns the number of statements run.

    Raises:
        QueryError: A statement failed (the message says which, where, and what ran), or
            the buffer holds none, or one that would take over the transaction.
    """
    statements = statements_in(buffer, session.dialect)
    if not statements:
        raise QueryError("no SQL statement to run")
    for statement in statements:
        if statement.controls_transaction:
            raise QueryError(
                f"{statement.label()}: each statement runs in a transaction of its own",
                statement.sql,
                "leave out BEGIN, COMMIT and ROLLBACK; with --write each statement is "
                "committed once it has run",
            )
    writer = WRITERS[fmt](out, session.dialect)
    committed = False
    for statement in statements:
        try:
            outcome = await session.run(statement.sql, write=write)
            if outcome.cursor is not None:
                writer.start(outcome.cursor.columns, outcome.cursor.non_text)
                count = 0
                batches = read_forward(outcome.cursor, batch_rows)
                async with contextlib.aclosing(batches):
                    async for rows in batches:
                        writer.rows(rows)
                        count += len(rows)
                writer.end(count)
                await outcome.cursor.close()
            for note in outcome.notes:
                if tell is not None:
                    tell(f"statement {statement.number}: {note}")
            if outcome.pending:
                await session.commit()
                committed = True
                if on_commit is not None:
                    changed = (
                        "" if outcome.changed is None else f" ({outcome.changed:,} rows changed)"
                    )
                    on_commit(f"statement {statement.number}: committed{changed}")
        except StatementError as error:
            await session.rollback()
            raise _failure(error, statement, buffer, committed) from None
    return len(statements)
