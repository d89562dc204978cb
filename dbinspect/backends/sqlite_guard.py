"""The hardened connections every SQLite reader uses, apart from the backend that opens them.

Small on purpose: a worker process of an export (`sqlite_split_worker`) opens its
connection with these and nothing else of the backend.
"""

from __future__ import annotations

from typing import Any

from dbinspect import sqlite_driver as driver

HARDENING_PRAGMAS = (
    "PRAGMA trusted_schema = OFF",
    "PRAGMA cell_size_check = ON",
    "PRAGMA mmap_size = 0",
    "PRAGMA query_only = ON",
)

READ_PRAGMAS = frozenset(
    {
        "table_info", "table_xinfo", "table_list", "index_info", "index_xinfo", "index_list",
        "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
        "function_list", "module_list", "pragma_list", "collation_list", "database_list",
        "compile_options",
    }
)  # fmt: skip
"""Pragmas that take an argument yet only read; any other pragma given a value writes."""


class HardenedConnection(driver.Connection):
    """A SQLite connection that refuses what an inspector never needs.

    Built through `connect_async(factory=...)` so the authorizer is installed on the
    worker thread that owns the connection: SQLite's hardening hooks (authorizer, limits,
    progress handler) must be set on the thread that runs the connection's calls.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loading_extensions = False
        """True only while `load_extensions` runs the user's chosen extensions."""
        self.set_authorizer(self._authorize)
        # A hostile file may hold text that is not UTF-8 (in names or values); strict
        # decoding would make the whole schema unreadable, so show the bytes escaped.
        self.text_factory = _decode_text

    def allow_extension_loading(self, allowed: bool) -> None:
        """Lift the ban on `load_extension()` while the user's extensions load."""
        self.loading_extensions = allowed

    def _authorize(self, action: int, arg1: str | None, arg2: str | None, *_: str | None) -> int:
        """Deny ATTACH/DETACH, `writable_schema` and loading extensions from SQL."""
        if action in (driver.SQLITE_ATTACH, driver.SQLITE_DETACH):
            return driver.SQLITE_DENY
        if action == driver.SQLITE_PRAGMA and (arg1 or "").lower() == "writable_schema":
            return driver.SQLITE_DENY
        if action == driver.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
            return driver.SQLITE_OK if self.loading_extensions else driver.SQLITE_DENY
        return driver.SQLITE_OK


def _decode_text(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


class ConsoleConnection(HardenedConnection):
    """A hardened connection whose authorizer refuses writes unless `writes_allowed`."""

    writes_allowed = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused_write = False
        """Set when the authorizer refused a write (reset before each statement)."""
        self.guarding = False
        """Off while the console sets its own pragmas, on from the first user statement."""

    def _authorize(self, action: int, arg1: str | None, arg2: str | None, *rest: str | None) -> int:
        verdict = super()._authorize(action, arg1, arg2, *rest)
        if verdict != driver.SQLITE_OK or self.writes_allowed or not self.guarding:
            return verdict
        if action in driver.WRITE_ACTIONS or (
            action == driver.SQLITE_PRAGMA
            and arg2 is not None
            and (arg1 or "").lower() not in READ_PRAGMAS
        ):
            self.refused_write = True
            return driver.SQLITE_DENY
        return driver.SQLITE_OK


class WritingConnection(ConsoleConnection):
    writes_allowed = True
