"""Where the console's statements are in its buffer, and what kind each one is.

The buffer is split by the migration engine's own splitters (SQLite's `complete.c` rules,
PostgreSQL's parser), so the console and `migrate run` agree on where a statement ends.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from dbinspect.migrate.statements import Statement

Dialect = Literal["sqlite", "postgres"]

ASKS_FIRST = frozenset({"DROP", "TRUNCATE", "ALTER"})
"""Statements that destroy or reshape: write mode asks before running them."""
TRANSACTION_WORDS = frozenset(
    {"BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "ABORT"}
)
"""The console runs each statement in its own transaction: these would break that."""

_WORD = re.compile(r"[A-Za-z_]+")
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
_QUOTED = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/"
    r"|\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?\$(?P=tag)\$",  # PostgreSQL's dollar quotes
    re.DOTALL,
)


class BufferStatement(NamedTuple):
    """One statement of the buffer and where its text is."""

    number: int
    """From 1, in buffer order."""
    start: int
    """Offset of its first token in the buffer."""
    end: int
    """Offset just past its `;` (or its last character)."""
    sql: str
    """The text, without leading comments or the closing `;`."""

    @property
    def keyword(self) -> str:
        """The first keyword, upper-cased."""
        match = _WORD.match(self.sql)
        return match.group(0).upper() if match else ""

    @property
    def asks_first(self) -> bool:
        """DROP, TRUNCATE or ALTER: confirmed before it runs."""
        return self.keyword in ASKS_FIRST

    @property
    def controls_transaction(self) -> bool:
        """BEGIN, COMMIT, ROLLBACK, SAVEPOINT...: the console owns the transaction."""
        return self.keyword in TRANSACTION_WORDS or bool(
            re.match(
                r"(SET\s+(SESSION\s+CHARACTERISTICS|TRANSACTION)|PREPARE\s+TRANSACTION)\b",
                self.sql,
                re.I,
            )
        )

    @property
    def ordered(self) -> bool:
        """Whether it says ORDER BY outside strings and comments (the rows' order is fixed)."""
        return bool(_ORDER_BY.search(_QUOTED.sub(" ", self.sql)))

    def label(self) -> str:
        """`statement N: <first line>`, for messages."""
        first = self.sql.split("\n", 1)[0].strip()
        if len(first) > 60:
            first = first[:57] + "..."
        return f"statement {self.number}: {first}"


def _split(buffer: str, dialect: Dialect) -> list[Statement]:
    if dialect == "postgres":
        from dbinspect.migrate.pg_dialect import split_statements

        return split_statements(buffer)
    from dbinspect.migrate.sqlite_dialect import SQLITE

    return SQLITE.split(buffer)


def statements_in(buffer: str, dialect: Dialect) -> list[BufferStatement]:
    """Every statement of `buffer`, with its place; empty ones (`;;`) are left out."""
    found: list[BufferStatement] = []
    offset = 0
    for statement in _split(buffer, dialect):
        end = offset + len(statement.sql)
        start = end - len(statement.body)
        offset = end
        text = statement.body.rstrip()
        text = text.removesuffix(";").rstrip()
        if text:
            found.append(BufferStatement(len(found) + 1, start, end, text))
    return found


def statement_at(buffer: str, offset: int, dialect: Dialect) -> BufferStatement | None:
    """The statement the cursor at `offset` is in (or just after), else the nearest before."""
    statements = statements_in(buffer, dialect)
    before: BufferStatement | None = None
    for statement in statements:
        if statement.start <= offset <= statement.end:
            return statement
        if statement.end <= offset:
            before = statement
        elif before is None:
            return statement
    return before
