"""The one module that imports a SQLite driver; every other module takes it from here.

Which SQLite: sqlean.py, a build of Python's `sqlite3` module around a bundled, current
SQLite (3.50), the same on every machine. sqlx bundles SQLite 3.46 (libsqlite3-sys 0.30),
so a migration that sqlx applies uses functions the system's library may lack
(`concat`, `string_agg`, `timediff`, `jsonb*`, ...). Chosen over pysqlite3-binary, whose
builds lack `dbstat` and `sqlite_dbpage`; sqlean has both, FTS5, JSON, math functions,
R*Tree and extension loading (which this machine's CPython leaves out).

What sqlean lacks, and what replaces it here:
- its exceptions are its own classes: everything catches `Error` and friends from here;
- no type stubs: type checking sees the standard library's `sqlite3`, whose API sqlean
  mirrors (it is the same C source at Python 3.11);
- `setlimit`, `serialize`, `blobopen`, `iterdump` and `autocommit` are missing: none is
  used; hardening relies on PRAGMAs, the authorizer and the progress handler, which
  sqlean has, and transactions are explicit (`isolation_level=None`);
- `load_extension()` takes no entry point: `load_extensions` calls SQL's
  `load_extension(path, entrypoint)` for one, with loading switched on only meanwhile;
- aiosqlite's `connect()` hard-codes the standard library: `connect_async` builds
  `aiosqlite.Connection` with a connector that calls this driver.
- sqlean's own extensions (regexp, fileio, ...) load when `SQLEAN_ENABLE*` variables ask;
  sqlx has none of them, and `fileio` would let a view read the user's files, so they
  are switched off before the first connection.

Where no sqlean wheel exists, or `DBINSPECT_SQLITE=system` asks for it (CI runs the
suite once that way), the standard library's `sqlite3` is used, and `info` and the
Connection pane say so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from dbinspect.errors import ConnectError
from dbinspect.extensions import Extension

if TYPE_CHECKING:
    import sqlite3 as dbapi

    import aiosqlite
    from aiosqlite import Connection as AsyncConnection

__all__ = ["AsyncConnection", "Extension"]  # plus every public name below

FORCE_ENV = "DBINSPECT_SQLITE"
"""Set to `system` to use the standard library's sqlite3 even where sqlean is installed."""


def _load_driver() -> tuple[ModuleType, bool]:
    """The DB-API module to use, and whether it carries its own bundled SQLite."""
    if os.environ.get(FORCE_ENV, "").lower() != "system":
        try:
            import sqlean  # type: ignore[import-untyped]
        except ImportError:
            pass
        else:
            for name in [k for k in os.environ if k.startswith("SQLEAN_ENABLE")]:
                del os.environ[name]
            os.environ["SQLEAN_ENABLE"] = "0"
            return sqlean, True
    import sqlite3

    return sqlite3, False


if not TYPE_CHECKING:
    dbapi, BUNDLED = _load_driver()
else:
    BUNDLED: bool

Connection = dbapi.Connection
Cursor = dbapi.Cursor
Row = dbapi.Row
Error = dbapi.Error
DatabaseError = dbapi.DatabaseError
OperationalError = dbapi.OperationalError
ProgrammingError = dbapi.ProgrammingError
IntegrityError = dbapi.IntegrityError
DriverWarning = dbapi.Warning
"""Raised, not an `Error`, for text that holds more than one statement."""
complete_statement = dbapi.complete_statement

SQLITE_OK = dbapi.SQLITE_OK
SQLITE_DENY = dbapi.SQLITE_DENY
SQLITE_ATTACH = dbapi.SQLITE_ATTACH
SQLITE_DETACH = dbapi.SQLITE_DETACH
SQLITE_PRAGMA = dbapi.SQLITE_PRAGMA
SQLITE_FUNCTION = dbapi.SQLITE_FUNCTION
WRITE_ACTIONS = frozenset(
    getattr(dbapi, name)
    for name in (
        "SQLITE_INSERT", "SQLITE_UPDATE", "SQLITE_DELETE", "SQLITE_ALTER_TABLE",
        "SQLITE_REINDEX", "SQLITE_ANALYZE", "SQLITE_CREATE_INDEX", "SQLITE_CREATE_TABLE",
        "SQLITE_CREATE_TEMP_INDEX", "SQLITE_CREATE_TEMP_TABLE", "SQLITE_CREATE_TEMP_TRIGGER",
        "SQLITE_CREATE_TEMP_VIEW", "SQLITE_CREATE_TRIGGER", "SQLITE_CREATE_VIEW",
        "SQLITE_CREATE_VTABLE", "SQLITE_DROP_INDEX", "SQLITE_DROP_TABLE",
        "SQLITE_DROP_TEMP_INDEX", "SQLITE_DROP_TEMP_TABLE", "SQLITE_DROP_TEMP_TRIGGER",
        "SQLITE_DROP_TEMP_VIEW", "SQLITE_DROP_TRIGGER", "SQLITE_DROP_VIEW",
        "SQLITE_DROP_VTABLE", "SQLITE_TRANSACTION", "SQLITE_SAVEPOINT",
    )
)  # fmt: skip
"""Authorizer actions that change a database (or its transaction state)."""

# Primary result codes (the low byte of an extended code), for classifying errors by
# code rather than by words in a message, which quotes user names.
SQLITE_BUSY = dbapi.SQLITE_BUSY
SQLITE_LOCKED = dbapi.SQLITE_LOCKED
SQLITE_INTERRUPT = dbapi.SQLITE_INTERRUPT
SQLITE_READONLY = dbapi.SQLITE_READONLY
SQLITE_IOERR = dbapi.SQLITE_IOERR
SQLITE_CORRUPT = dbapi.SQLITE_CORRUPT
SQLITE_FULL = dbapi.SQLITE_FULL
SQLITE_CANTOPEN = dbapi.SQLITE_CANTOPEN
SQLITE_NOTADB = dbapi.SQLITE_NOTADB

LIBRARY_VERSION: str = dbapi.sqlite_version
"""The SQLite library in use, e.g. `3.50.4`."""
LIBRARY_SOURCE = "bundled" if BUNDLED else "system"
"""`bundled` (sqlean.py's own SQLite) or `system` (the standard library's sqlite3)."""


def library_description() -> str:
    """E.g. `3.50.4 (bundled)`, as `info` and the Connection pane show it."""
    return f"{LIBRARY_VERSION} ({LIBRARY_SOURCE})"


def primary_code(error: BaseException) -> int | None:
    """The primary result code of a driver error (SQLITE_BUSY, ...), None if unknown."""
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def connect(database: str | Path, **kwargs: Any) -> dbapi.Connection:
    """Open a synchronous connection (the same arguments as `sqlite3.connect`)."""
    conn: dbapi.Connection = dbapi.connect(database, **kwargs)
    return conn


def connect_async(
    database: str, *, iter_chunk_size: int = 64, **kwargs: Any
) -> aiosqlite.Connection:
    """An aiosqlite connection over this driver; await it to open.

    `aiosqlite.connect()` would open the standard library's sqlite3 whatever is
    installed; its `Connection` takes any connector, and runs it on its own thread.
    """
    import aiosqlite

    def connector() -> dbapi.Connection:
        return connect(database, **kwargs)

    return aiosqlite.Connection(connector, iter_chunk_size)


class ExtensionError(ConnectError):
    """An extension could not be loaded; the message names the file."""


def can_load_extensions() -> bool:
    """Whether this driver build can load extensions at all."""
    return hasattr(dbapi.Connection, "enable_load_extension")


def load_extensions(
    conn: dbapi.Connection,
    extensions: Sequence[Extension],
    *,
    allow_sql_loading: Callable[[bool], None] | None = None,
) -> None:
    """Load `extensions` into `conn`, as sqlx does: by SQLite's own name resolution.

    SQLite tries the name as given, then with the platform's suffix (`.so`); a name
    without a `/` is looked up on the library search path, as sqlx-cli does. Loading is
    switched off again afterwards, so SQL can never call `load_extension()` itself.

    Args:
        conn: The connection, on its own thread.
        extensions: What to load, in order.
        allow_sql_loading: Lifts an authorizer's ban on `load_extension()` meanwhile
            (needed for an entry point, which only the SQL function takes here).

    Raises:
        ExtensionError: This build cannot load extensions, or one failed to load.
    """
    if not extensions:
        return
    if not can_load_extensions():
        raise ExtensionError(
            f"cannot load {extensions[0]}: this Python's SQLite ({library_description()}) "
            "was built without extension loading; install dbinspect's bundled SQLite "
            "(pip install sqlean.py)"
        )
    conn.enable_load_extension(True)
    if allow_sql_loading is not None:
        allow_sql_loading(True)
    try:
        for extension in extensions:
            try:
                if extension.entrypoint is None:
                    conn.load_extension(extension.path)
                else:
                    conn.execute(
                        "SELECT load_extension(?, ?)", (extension.path, extension.entrypoint)
                    ).fetchall()
            except dbapi.Error as error:
                reason = _load_failure(extension.path, error)
                raise ExtensionError(f"cannot load extension {extension}: {reason}") from None
    finally:
        if allow_sql_loading is not None:
            allow_sql_loading(False)
        conn.enable_load_extension(False)


_LIBRARY_SUFFIX = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")
"""What SQLite appends to a name it could not load before trying it once more."""


def _load_failure(path: str, error: dbapi.Error) -> str:
    """Why `path` did not load: SQLite's reason, unless that reason would mislead.

    SQLite retries a name that failed with the platform's suffix added and reports the
    retry's failure, so for a file that exists but is not a loadable library it says
    that `name.so` does not exist.
    """
    retried = f"{path}{_LIBRARY_SUFFIX}:"
    if os.sep in path and os.path.isfile(path) and str(error).startswith(retried):
        return f"{path} exists but is not a shared library this system can load"
    return str(error)


async def load_extensions_async(conn: AsyncConnection, extensions: Sequence[Extension]) -> None:
    """`load_extensions` on an aiosqlite connection's own thread.

    Through aiosqlite's `_execute`, which runs a function on that thread: loading must
    happen there, between switching loading on and off, with nothing else in between.
    """
    if not extensions:
        return
    inner = conn._conn
    allow = getattr(inner, "allow_extension_loading", None)
    await conn._execute(  # type: ignore[no-untyped-call]
        load_extensions, inner, extensions, allow_sql_loading=allow
    )
