"""What the migration policy asks of a database's SQL: its statement rules, as data."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from dbinspect.migrate.statements import Statement


class Dialect(NamedTuple):
    """How one database splits a migration file and what it refuses in a transaction."""

    name: str
    split: Callable[[str], list[Statement]]
    """The file's statements, ending exactly where the database would end each one."""
    transaction_refusal: Callable[[list[Statement]], Statement | None]
    """The first statement that cannot run inside the migration's transaction."""
    transaction_reason: str
    """Why such a statement is refused, for the error message."""
    warnings: Callable[[list[Statement], str], tuple[str, ...]]
    """Warnings about statements that run but do not do what they say (file name given)."""
    nul_reason: str
    """Why a NUL character in a file is refused."""
    client_refusal: Callable[[list[Statement]], Statement | None] = lambda statements: None
    """The first statement that needs a client to send or take data (in any file)."""
    client_reason: str = ""
    """Why such a statement is refused, for the error message."""
