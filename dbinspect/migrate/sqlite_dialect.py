"""SQLite's migration statement rules, as the policy takes them (imports no driver)."""

from __future__ import annotations

from dbinspect.migrate.dialect import Dialect
from dbinspect.migrate.statements import (
    Statement,
    foreign_keys_pragmas,
    split_statements,
    transaction_refusal,
)


def _warnings(statements: list[Statement], file_name: str) -> tuple[str, ...]:
    return tuple(
        f"{file_name}: {s.label()} has no effect: SQLite ignores PRAGMA foreign_keys inside "
        "a transaction (sqlx runs it the same way); foreign keys stay ON"
        for s in foreign_keys_pragmas(statements)
    )


SQLITE = Dialect(
    name="sqlite",
    split=split_statements,
    transaction_refusal=transaction_refusal,
    transaction_reason="would end, nest or be refused by it, and sqlx would fail or commit "
    "half the file",
    warnings=_warnings,
    nul_reason="where SQLite would stop reading the statement",
)
