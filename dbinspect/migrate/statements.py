"""Splits migration SQL into statements and finds what cannot run in a transaction."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from typing import NamedTuple

_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]+")
_FOREIGN_KEYS_PRAGMA = re.compile(
    r"^PRAGMA\s+(?:[\"`\[]?\w+[\"`\]]?\s*\.\s*)?[\"`\[]?foreign_keys\b[\"`\]]?\s*[=(]",
    re.IGNORECASE,
)
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK"})


class Statement(NamedTuple):
    """One complete SQL statement of a migration file."""

    number: int
    """Position in the file, from 1, counting only statements that do something."""
    sql: str
    """The statement's text, leading comments included, up to its `;`."""
    body: str
    """The text without leading comments and whitespace (found once, checked often)."""

    @property
    def keyword(self) -> str:
        """The first keyword, upper-cased (`CREATE`, `BEGIN`...)."""
        match = _WORD.match(self.body)
        return match.group(0).upper() if match else ""

    @property
    def first_line(self) -> str:
        """The first line of the body, for error messages."""
        return self.body.split("\n", 1)[0].strip()

    def label(self) -> str:
        """`statement N: <first line>`, as error messages show it.

        Without its closing `;`, which would run into the `: <error>` that follows.
        """
        return f"statement {self.number}: {self.first_line.removesuffix(';').rstrip()}"


def strip_leading_comments(sql: str) -> str:
    """Remove whitespace and `--`/`/* */` comments from the start of `sql`."""
    return sql[_LEADING_NOISE.match(sql).end() :]  # type: ignore[union-attr]


def split_statements(sql: str) -> list[Statement]:
    """Split a script into statements exactly where SQLite would end each one.

    `sqlite3.complete_statement` understands quotes, comments and the `BEGIN ... END`
    of a trigger body, so a `;` only ends a statement when it completes one. Text after
    the last `;` that is more than comments is a final statement without a semicolon,
    which SQLite also runs.
    """
    statements: list[Statement] = []
    pending = ""
    for piece in sql.split(";")[:-1]:
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            _append(statements, pending)
            pending = ""
    pending += sql.rsplit(";", 1)[-1] if ";" in sql else sql
    _append(statements, pending)
    return statements


def _append(statements: list[Statement], text: str) -> None:
    body = strip_leading_comments(text)
    if body.strip().rstrip(";").strip():
        statements.append(Statement(len(statements) + 1, text, body))


def transaction_refusal(statements: list[Statement]) -> Statement | None:
    """The first statement that cannot run inside the migration's transaction, if any.

    `BEGIN`/`COMMIT`/`END`/`ROLLBACK` would end or nest the transaction (sqlx would fail or
    commit half a migration) and `VACUUM` cannot run in a transaction at all. `ROLLBACK
    TO` a savepoint stays inside the transaction, so it is allowed.
    """
    for statement in statements:
        keyword = statement.keyword
        if keyword == "VACUUM":
            return statement
        if keyword in TRANSACTION_CONTROL:
            rest = statement.body[len(keyword) :].lstrip()
            if keyword == "ROLLBACK" and re.match(r"(?i)(TRANSACTION\s+)?TO\b", rest):
                continue
            return statement
    return None


def foreign_keys_pragmas(statements: list[Statement]) -> list[Statement]:
    """Statements setting `PRAGMA foreign_keys`, a no-op inside a transaction."""
    return [s for s in statements if _FOREIGN_KEYS_PRAGMA.match(s.body)]


def explain_checksum_difference(data: bytes, applied: bytes) -> str | None:
    """Say whether `data` differs from what was applied only by line endings or a BOM.

    The old bytes are gone, so this tries the variants an editor produces (BOM added
    or removed, CRLF turned into LF or back) and checks which one hashes to `applied`.
    """
    bom = b"\xef\xbb\xbf"
    without_bom = data.removeprefix(bom)
    lf = without_bom.replace(b"\r\n", b"\n")
    crlf = lf.replace(b"\n", b"\r\n")
    variants = {
        "a byte-order mark (BOM)": [without_bom, bom + data],
        "line endings (CRLF/LF)": [lf, crlf, bom + lf, bom + crlf],
    }
    for what, candidates in variants.items():
        for candidate in candidates:
            if candidate != data and hashlib.sha384(candidate).digest() == applied:
                if what.startswith("line") and candidate.startswith(bom) != data.startswith(bom):
                    return "line endings (CRLF/LF) and a byte-order mark (BOM)"
                return what
    return None
