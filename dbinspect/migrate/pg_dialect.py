"""PostgreSQL's migration statement rules, from PostgreSQL's own parser (pglast).

pglast wraps libpg_query, the server's grammar and scanner as a library: dollar-quoted
bodies (`$$ ... $$`, `$fn$ ... $fn$`), `E''` strings, nested `/* */` comments and
`BEGIN ATOMIC ... END` function bodies end where the server ends them, which no regular
expression gets right. A file the parser rejects is split by the scanner alone, so its
statements still run one by one and the server reports the bad one.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, NamedTuple

from pglast import parser as pg_parser

from dbinspect.errors import ConfigError
from dbinspect.migrate.dialect import Dialect
from dbinspect.migrate.statements import Statement

_WORDS = re.compile(r"[A-Za-z_]+")
_SPACES = re.compile(r"\s*")
_SEMICOLON = "ASCII_59"
_COMMENTS = frozenset({"C_COMMENT", "SQL_COMMENT"})

# Statements worth a parse: those that may end the transaction, and those that name
# what the server refuses inside one. Every other statement runs in a transaction.
_PARSED_KEYWORDS = frozenset(
    {"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "PREPARE", "VACUUM", "REINDEX"}
)
_SUSPECT_WORDS = re.compile(r"(?i)\b(?:CONCURRENTLY|DATABASE|TABLESPACE|SUBSCRIPTION|SYSTEM)\b")
# Transaction statements that stay inside the transaction sqlx opened.
_INSIDE_TRANSACTION = frozenset(
    {"TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO"}
)
# What the server refuses inside any transaction block, whatever its options.
_NEVER_IN_TRANSACTION = frozenset(
    {
        "CreatedbStmt",
        "DropdbStmt",
        "AlterSystemStmt",
        "CreateTableSpaceStmt",
        "DropTableSpaceStmt",
    }
)
_WHOLE_DATABASE_REINDEX = frozenset(
    {"REINDEX_OBJECT_SYSTEM", "REINDEX_OBJECT_DATABASE", "REINDEX_OBJECT_SCHEMA"}
)
_FALSE_WORDS = frozenset({"false", "off", "0", "no"})

# When a statement does not parse (the server will refuse it anyway), its leading words.
_TRANSACTION_CONTROL = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"})
_SAVEPOINT_ROLLBACK = re.compile(r"(?i)^(?:ROLLBACK|ABORT)\s+(?:(?:WORK|TRANSACTION)\s+)?TO\b")
_PREPARED = re.compile(r"(?i)^(?:COMMIT|ROLLBACK)\s+PREPARED\b")
_NEVER_IN_TRANSACTION_WORDS = (
    ("VACUUM",),
    ("CREATE", "DATABASE"),
    ("DROP", "DATABASE"),
    ("ALTER", "SYSTEM"),
    ("CREATE", "TABLESPACE"),
    ("DROP", "TABLESPACE"),
    ("REINDEX", "SYSTEM"),
    ("REINDEX", "DATABASE"),
    ("REINDEX", "SCHEMA"),
)
_CONCURRENT_WORDS = frozenset({"CREATE", "DROP", "REINDEX"})
_ROUTINE_HEADS = {"create": "c", "or": "o", "replace": "r", "function": "f", "procedure": "p"}
"""psql's marks for the words that start `CREATE [OR REPLACE] FUNCTION|PROCEDURE`."""


def _scanner_spans(sql: str) -> list[tuple[int, int]]:
    """(start of its first token, end just past its `;`) of each statement, by the scanner.

    For a file PostgreSQL's parser rejects (a typo, or a word a newer server reserves):
    a `;` outside quotes and comments ends a statement, as psql's own lexer decides it,
    which libpg_query does not offer and is written out here: not inside parentheses (a
    rule's `DO ALSO (...; ...)`), nor inside the `BEGIN ... END` body of a
    `CREATE [OR REPLACE] FUNCTION|PROCEDURE` (where a `CASE ... END` nests). An
    unterminated quote or comment hides every `;` after it from the server too: from
    there the file is one statement, which the server refuses with its reason.
    """
    unterminated: int | None = None
    try:
        tokens = pg_parser.scan(sql)
    except pg_parser.ParseError as error:
        found = error.args[1] if len(error.args) > 1 else None
        unterminated = found if isinstance(found, int) and 0 <= found <= len(sql) else 0
        try:
            tokens = pg_parser.scan(sql[:unterminated])
        except pg_parser.ParseError:
            tokens, unterminated = [], 0
    spans = []
    body: int | None = None
    parentheses = depth = 0
    heads = ""  # psql's mark for each of the statement's first four words
    for token in tokens:
        name = token.name
        if name == _SEMICOLON and parentheses == 0 and depth == 0:
            if body is not None:  # `;;` is an empty statement, which the server skips
                spans.append((body, token.end + 1))
            body, heads = None, ""
            continue
        if body is None and name not in _COMMENTS:
            body = token.start
        if name == "ASCII_40":
            parentheses += 1
        elif name == "ASCII_41":
            parentheses = max(parentheses - 1, 0)
        elif token.kind != "NO_KEYWORD" or (name == "IDENT" and sql[token.start] != '"'):
            word = sql[token.start : token.end + 1].lower()
            if len(heads) < 4:
                heads += _ROUTINE_HEADS.get(word, "-")
            if parentheses == 0 and heads.startswith(("cf", "cp", "corf", "corp")):
                if word == "begin" or (word == "case" and depth > 0):
                    depth += 1
                elif word == "end" and depth > 0:
                    depth -= 1
    if unterminated is not None:
        spans.append((unterminated if body is None else body, len(sql)))
    elif body is not None:
        spans.append((body, len(sql)))
    return spans


def _statement_spans(sql: str) -> list[tuple[int, int]]:
    """(start of its first token, end just past its `;`) of each statement.

    By PostgreSQL's parser, which knows where `BEGIN ATOMIC ... END` bodies end; by the
    scanner alone when the file does not parse (the server will say why).
    """
    try:
        slices = pg_parser.split(sql, with_parser=True, only_slices=True)
    except pg_parser.ParseError:
        return _scanner_spans(sql)
    spans = []
    for found in slices:
        gap = _SPACES.match(sql, found.stop)  # matched in place: no copy of the rest
        end = gap.end() if gap else found.stop
        spans.append((found.start, end + 1 if sql[end : end + 1] == ";" else found.stop))
    return spans


def split_statements(sql: str) -> list[Statement]:
    """Split a migration file into statements where PostgreSQL would end each one.

    Each statement's text runs from the end of the one before, so it keeps the comments
    before it; its body starts at its first token. Comments after the last statement
    belong to none.
    """
    statements: list[Statement] = []
    start = 0
    for body_start, end in _statement_spans(sql):
        statements.append(Statement(len(statements) + 1, sql[start:end], sql[body_start:end]))
        start = end
    return statements


def _leading_words(statement: Statement, count: int = 2) -> tuple[str, ...]:
    return tuple(word.upper() for word in _WORDS.findall(statement.body[:200])[:count])


def _option_is_false(options: list[dict[str, Any]], names: frozenset[str]) -> bool:
    """Whether one of the `WITH (...)` options `names` is set to false/off."""
    for option in options:
        element = option.get("DefElem", {})
        if element.get("defname") in names:
            words = re.findall(r'"sval": "([^"]*)"', json.dumps(element.get("arg", {})))
            if words and words[0].lower() in _FALSE_WORDS:
                return True
    return False


def _node_refused(node: dict[str, Any]) -> bool:
    """Whether a parsed statement ends the transaction or the server refuses it in one."""
    ((kind, fields),) = node.items()
    if kind == "TransactionStmt":
        return fields.get("kind") not in _INSIDE_TRANSACTION
    if kind in _NEVER_IN_TRANSACTION:
        return True
    if kind == "VacuumStmt":
        return bool(fields.get("is_vacuumcmd"))  # ANALYZE alone runs in a transaction
    if kind in ("IndexStmt", "DropStmt"):
        return bool(fields.get("concurrent"))
    if kind == "ReindexStmt":
        params = [p.get("DefElem", {}).get("defname") for p in fields.get("params", [])]
        return fields.get("kind") in _WHOLE_DATABASE_REINDEX or "concurrently" in params
    if kind == "AlterTableStmt":
        return any(
            cmd.get("AlterTableCmd", {}).get("subtype") == "AT_DetachPartition"
            and cmd["AlterTableCmd"].get("def", {}).get("PartitionCmd", {}).get("concurrent")
            for cmd in fields.get("cmds", [])
        )
    if kind == "AlterDatabaseStmt":
        options = fields.get("options", [])
        return any(o.get("DefElem", {}).get("defname") == "tablespace" for o in options)
    if kind == "CreateSubscriptionStmt":  # only creating its replication slot is refused
        options = fields.get("options", [])
        return not _option_is_false(options, frozenset({"create_slot", "connect"}))
    return False


def _refused_by_words(statement: Statement) -> bool:
    """The refusal by leading words, for a statement PostgreSQL's parser rejects."""
    keyword = statement.keyword
    if keyword in _TRANSACTION_CONTROL:
        return not _SAVEPOINT_ROLLBACK.match(statement.body)
    if _PREPARED.match(statement.body):
        return True
    words = _leading_words(statement, 2)
    if any(words[: len(rule)] == rule for rule in _NEVER_IN_TRANSACTION_WORDS):
        return True
    return keyword in _CONCURRENT_WORDS and "CONCURRENTLY" in _leading_words(statement, 6)


def _refused(statement: Statement) -> bool:
    keyword = statement.keyword
    if keyword not in _PARSED_KEYWORDS and not (
        keyword in ("CREATE", "DROP", "ALTER") and _SUSPECT_WORDS.search(statement.body)
    ):
        return False
    try:
        parsed = json.loads(pg_parser.parse_sql_json(statement.sql))
    except pg_parser.ParseError:
        return _refused_by_words(statement)
    return any(_node_refused(found["stmt"]) for found in parsed.get("stmts", []))


def transaction_refusal(statements: list[Statement]) -> Statement | None:
    """The first statement that ends or nests the migration's transaction, or cannot run in one.

    `BEGIN`/`START TRANSACTION`/`COMMIT`/`END`/`ROLLBACK`/`PREPARE TRANSACTION` would end
    the transaction sqlx opened (committing half the file); `VACUUM`, `CREATE DATABASE`,
    `CREATE INDEX CONCURRENTLY`, `DETACH PARTITION ... CONCURRENTLY` and the like are
    refused by the server inside any transaction. Decided on PostgreSQL's own parse tree:
    `SAVEPOINT`, `ROLLBACK TO` and `REFRESH MATERIALIZED VIEW CONCURRENTLY` stay inside
    the transaction, so they are allowed.
    """
    for statement in statements:
        if _refused(statement):
            return statement
    return None


_CLIENT_COPY = re.compile(r"(?i)\b(FROM|TO)\s+(?:STDIN|STDOUT)\b")


class CopyShape(NamedTuple):
    """Which way a `COPY` moves rows, and what is at the other end."""

    direction: Literal["FROM", "TO"]
    """FROM: rows go into a table; TO: rows come out."""
    end: Literal["client", "file", "program"]
    """`STDIN`/`STDOUT` (the client), a server file, or a program run on the server."""


def copy_shape(statement: Statement) -> CopyShape | None:
    """What a `COPY` statement does (as PostgreSQL's parser reads it); None for any other."""
    if statement.keyword != "COPY":
        return None
    try:
        parsed = json.loads(pg_parser.parse_sql_json(statement.sql))
    except pg_parser.ParseError:  # a COPY followed by its data rows, say
        found = _CLIENT_COPY.search(statement.body)
        if found is None:
            return None
        return CopyShape("FROM" if found.group(1).upper() == "FROM" else "TO", "client")
    for found in parsed.get("stmts", []):
        copy = found["stmt"].get("CopyStmt")
        if copy is not None:
            end: Literal["client", "file", "program"] = (
                "program" if copy.get("is_program") else "file" if "filename" in copy else "client"
            )
            return CopyShape("FROM" if copy.get("is_from") else "TO", end)
    return None


def _copies_with_the_client(statement: Statement) -> bool:
    shape = copy_shape(statement)
    return shape is not None and shape.end == "client"


def client_refusal(statements: list[Statement]) -> Statement | None:
    """The first `COPY ... FROM STDIN` or `COPY ... TO STDOUT`: the server would wait for
    (or send) data that only a client such as psql exchanges; sqlx cannot run it either."""
    for statement in statements:
        if _copies_with_the_client(statement):
            return statement
    return None


_PART = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"\x00]|"")+")'
_TABLE_NAME = re.compile(rf"{_PART}(?:\.{_PART})?")


def checked_table_name(text: str) -> str:
    """The tracking table's name as sqlx writes it into its SQL, if it is a name at all.

    sqlx pastes `table-name` into its statements verbatim; anything but a (schema-
    qualified, possibly quoted) identifier would make them fail, or do something else.
    A reserved word (`user`, `select`) is refused by the parser, as by the server.

    Raises:
        ConfigError: The name is not an identifier or `schema.identifier`.
    """
    if _TABLE_NAME.fullmatch(text):
        try:
            parsed = pg_parser.split(f"CREATE TABLE IF NOT EXISTS {text} (version BIGINT)")
        except pg_parser.ParseError:
            parsed = ()
        if len(parsed) == 1:
            return text
    raise ConfigError(
        f"table-name {text!r} is not a table name sqlx can use on PostgreSQL",
        "use letters, digits and _, optionally after a schema and a dot, or quote "
        "the name: table-name = '\"my-migrations\"'",
    )


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
    client_refusal=client_refusal,
    client_reason="copies from or to the client (STDIN/STDOUT), which only psql can feed: "
    "sqlx sends the file to the server alone, and so does dbinspect",
)
