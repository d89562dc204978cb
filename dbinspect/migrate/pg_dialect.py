"""PostgreSQL's migration statement rules, from PostgreSQL's own parser (pglast).

pglast wraps libpg_query, the server's grammar and scanner as a library: dollar-quoted
bodies (`$$ ... $$`, `$fn$ ... $fn$`), `E''` strings, nested `/* */` comments and
`BEGIN ATOMIC ... END` function bodies end where the server ends them, which no regular
expression gets right. A file the parser rejects is split by the scanner alone, so its
statements still run one by one and the server reports the bad one.
"""

from __future__ import annotations

import re

from pglast import parser as pg_parser

from dbinspect.migrate.dialect import Dialect
from dbinspect.migrate.statements import Statement, strip_leading_comments

_WORDS = re.compile(r"[A-Za-z_]+")

_TRANSACTION_CONTROL = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"})
_SAVEPOINT_ROLLBACK = re.compile(r"(?i)^(?:ROLLBACK|ABORT)\s+(?:(?:WORK|TRANSACTION)\s+)?TO\b")
_PREPARED = re.compile(r"(?i)^(?:COMMIT|ROLLBACK)\s+PREPARED\b")
# What the server refuses inside a transaction block ("cannot run inside a transaction
# block"), by the statement's leading words.
_NEVER_IN_TRANSACTION = (
    ("VACUUM",),
    ("CREATE", "DATABASE"),
    ("DROP", "DATABASE"),
    ("ALTER", "SYSTEM"),
    ("CREATE", "TABLESPACE"),
    ("DROP", "TABLESPACE"),
    ("CREATE", "SUBSCRIPTION"),
    ("DROP", "SUBSCRIPTION"),
    ("REINDEX", "SYSTEM"),
    ("REINDEX", "DATABASE"),
)
_CONCURRENTLY = frozenset({"CREATE", "DROP", "REINDEX", "REFRESH"})
_SEMICOLON = "ASCII_59"


def _statement_ends(sql: str) -> list[int]:
    """Where each statement ends (just past its `;`, or its last character)."""
    try:
        slices = pg_parser.split(sql, with_parser=True, only_slices=True)
        tokens = None
    except pg_parser.ParseError:
        slices = None
        tokens = pg_parser.scan(sql)
    if slices is not None:
        ends = []
        for found in slices:
            end = found.stop
            rest = sql[end:]
            after = len(rest) - len(rest.lstrip())
            if rest[after : after + 1] == ";":
                end += after + 1
            ends.append(end)
        return ends
    assert tokens is not None
    return [token.end + 1 for token in tokens if token.name == _SEMICOLON]


def split_statements(sql: str) -> list[Statement]:
    """Split a migration file into statements where PostgreSQL would end each one.

    Each statement keeps the comments before it; text after the last `;` that is more
    than comments is a final statement, which the server also runs.
    """
    statements: list[Statement] = []
    start = 0
    for end in [*_statement_ends(sql), len(sql)]:
        if end <= start:
            continue
        text = sql[start:end]
        start = end
        body = strip_leading_comments(text)
        if body.strip().rstrip(";").strip():
            statements.append(Statement(len(statements) + 1, text, body))
    return statements


def _leading_words(statement: Statement, count: int = 2) -> tuple[str, ...]:
    return tuple(word.upper() for word in _WORDS.findall(statement.body[:200])[:count])


def transaction_refusal(statements: list[Statement]) -> Statement | None:
    """The first statement that ends or nests the migration's transaction, or cannot run in one.

    `BEGIN`/`START TRANSACTION`/`COMMIT`/`END`/`ROLLBACK` would end the transaction sqlx
    opened (committing half the file); `VACUUM`, `CREATE DATABASE`, `... CONCURRENTLY`
    and the like are refused by the server inside any transaction. `SAVEPOINT` and
    `ROLLBACK TO` stay inside it, so they are allowed.
    """
    for statement in statements:
        keyword = statement.keyword
        if keyword in _TRANSACTION_CONTROL:
            if _SAVEPOINT_ROLLBACK.match(statement.body):
                continue
            return statement
        if _PREPARED.match(statement.body):
            return statement
        words = _leading_words(statement, 2)
        if any(words[: len(rule)] == rule for rule in _NEVER_IN_TRANSACTION):
            return statement
        if keyword in _CONCURRENTLY and "CONCURRENTLY" in _leading_words(statement, 6):
            return statement
    return None


def _no_warnings(statements: list[Statement], file_name: str) -> tuple[str, ...]:
    return ()


POSTGRES = Dialect(
    name="postgres",
    split=split_statements,
    transaction_refusal=transaction_refusal,
    transaction_reason="would end the migration's transaction or cannot run inside one, and "
    "sqlx would fail or commit half the file",
    warnings=_no_warnings,
    nul_reason="which PostgreSQL text cannot hold",
)
