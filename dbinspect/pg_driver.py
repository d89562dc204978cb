"""The one module that imports psycopg; every other module takes PostgreSQL from here.

psycopg 3 serves both halves: its async connections the inspection layer, its sync ones
the migration engine (which runs on a worker thread, as with SQLite). Connections take
the URL as libpq does, so `.pgpass`, `PGPASSWORD`, `PGHOST`, `PGUSER`, `sslmode` and the
other libpq settings work as with psql.

Inspection sessions are made safe for a production server here, in one place: read-only
transactions, a statement and a lock timeout (a catalog query must not queue behind an
exclusive lock), and `application_name = 'dbinspect'` so a DBA sees who is connected.

They are made safe from the database itself too. Its owner may set its `search_path`
(`ALTER DATABASE ... SET search_path = evil, pg_catalog`) so that a view or function of
theirs hides the catalog's, and runs with the rights of whoever inspects it: a catalog
session pins `pg_catalog, pg_temp`, as pg_dump does, remembering the path it replaced
for the Connection pane and for finding names as a statement would (`SessionPath`).
And every session but a migration's reads values in one format whatever the database
sets (`DateStyle`, `IntervalStyle`, `extra_float_digits`), so that exports and backups
are exact and restore elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import weakref
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote, urlencode

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.abc import Buffer
from psycopg.pq import TransactionStatus
from psycopg.types.string import TextLoader

from dbinspect.errors import (
    ConfigError,
    ConnectError,
    ConnectionLostError,
    PassingError,
    QueryError,
)
from dbinspect.url import DatabaseUrl, mask_secrets

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "AsyncConnection",
    "Connection",
    "Cursor",
    "DatabaseError",
    "Error",
    "OperationalError",
    "QueryCanceled",
    "TransactionStatus",
    "cancel_once",
    "connect",
    "connect_async",
    "connect_error",
    "pg_errors",
    "psycopg",
    "sql",
]

Connection = psycopg.Connection
Cursor = psycopg.Cursor[tuple[Any, ...]]
AsyncConnection = psycopg.AsyncConnection
Error = psycopg.Error
DatabaseError = psycopg.DatabaseError
OperationalError = psycopg.OperationalError
QueryCanceled = pg_errors.QueryCanceled

# psycopg logs what it ignores while closing a broken connection ("error ignored
# terminating Pipeline"); with no handler of its own, Python would print that on stderr,
# which belongs to the command's one `error:` line (or to the app's screen).
logging.getLogger("psycopg").addHandler(logging.NullHandler())

T = TypeVar("T")

APPLICATION_NAME = "dbinspect"
INSPECTION_STATEMENT_TIMEOUT_MS = 30_000
"""A catalog or page query that runs longer than this is stopped by the server."""
INSPECTION_LOCK_TIMEOUT_MS = 2_000
"""How long an inspection query may wait behind another session's exclusive lock."""
CONNECT_TIMEOUT_S = 10
VALUE_FORMATS = "-c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3"
"""pg_dump's: dates a restore reads back whatever its order, floats to the last bit."""

PathChoice = Literal["database", "guarded"]
"""A session's `search_path`: the database's own (migrations and the query console run
the user's SQL as sqlx and psql would), or `guarded` (inspection: see `_GUARD_PATH`)."""
PINNED_PATH = "pg_catalog, pg_temp"


@dataclass(frozen=True, slots=True)
class SessionPath:
    """The `search_path` the database gave a session before dbinspect replaced it."""

    setting: str
    """As set (`"$user", public`)."""
    schemas: tuple[str, ...]
    """The schemas it names that exist, in order (`current_schemas(false)`)."""
    pinned: bool
    """Whether the session searches the catalog alone (the database's schemas define a
    function or operator by a catalog name); else the catalog first, then those schemas."""


# Read with schema-qualified functions only, before anything else runs on the session,
# and pin the path; the guard then runs on the pinned path.
_READ_PATH = (
    "SELECT pg_catalog.current_setting('search_path'), "
    "pg_catalog.current_schemas(false)::pg_catalog.text[], "
    f"pg_catalog.set_config('search_path', '{PINNED_PATH}', false)"
)
# The catalog is searched first, so that nothing of the database's can stand in for a
# catalog table, view or type, or for a function or operator with the very same argument
# types. One with other argument types can still be the better match for a call (a
# `lower(varchar)` beside the catalog's `lower(text)`): where the database's schemas on
# the path hold a function or operator under a catalog name that a role other than a
# superuser owns (an extension's, installed by a superuser, are a superuser's; one the
# database's owner added to an extension is still theirs), the session searches the
# catalog alone (the deparsed definitions then name every
# object with its schema, as pg_dump's do). Otherwise the database's schemas follow, so
# that definitions name their types and tables as psql shows them.
_GUARD_PATH = """
WITH path AS (SELECT n.oid, n.nspname, u.at FROM unnest(%(schemas)s::text[]) WITH ORDINALITY
              AS u(name, at) JOIN pg_namespace n ON n.nspname = u.name
              WHERE n.nspname <> 'pg_catalog'),
     named AS (SELECT p.proname AS name, r.rolsuper AS trusted
               FROM pg_proc p JOIN path ON p.pronamespace = path.oid
               JOIN pg_roles r ON r.oid = p.proowner
               UNION ALL
               SELECT o.oprname, r.rolsuper
               FROM pg_operator o JOIN path ON o.oprnamespace = path.oid
               JOIN pg_roles r ON r.oid = o.oprowner),
     shadowing AS (SELECT 1 FROM named
                   WHERE (EXISTS (SELECT 1 FROM pg_proc c WHERE c.proname = named.name
                                  AND c.pronamespace = 'pg_catalog'::regnamespace)
                          OR EXISTS (SELECT 1 FROM pg_operator c WHERE c.oprname = named.name
                                     AND c.oprnamespace = 'pg_catalog'::regnamespace))
                     AND NOT named.trusted)
SELECT EXISTS (SELECT 1 FROM shadowing),
       set_config('search_path', CASE WHEN EXISTS (SELECT 1 FROM shadowing)
                                      THEN %(pinned)s
                                      ELSE concat_ws(', ', 'pg_catalog',
                                                     (SELECT string_agg(quote_ident(nspname), ', '
                                                                        ORDER BY at) FROM path),
                                                     'pg_temp') END, false)
"""
_session_paths: weakref.WeakKeyDictionary[Any, SessionPath] = weakref.WeakKeyDictionary()

# sqlx takes these in its URLs; libpq does not know them and would refuse the URL.
_SQLX_ONLY_PARAMETERS = ("statement-cache-capacity", "ssl-root-cert", "ssl-client-cert")


def conninfo(url: DatabaseUrl) -> str:
    """The URL as libpq takes it: `postgres://` and `postgresql://`, minus sqlx's own keys."""
    text = url.raw.strip()
    base, sep, query = text.partition("?")
    if not sep:
        return text
    kept = [
        part
        for part in query.split("&")
        if part and part.split("=", 1)[0] not in _SQLX_ONLY_PARAMETERS
    ]
    return base + ("?" + "&".join(kept) if kept else "")


SECRET_PARAMETERS = ("password", "sslpassword")


def split_secrets(url: DatabaseUrl) -> tuple[str, dict[str, str]]:
    """The URL as a libpq key/value string without its secrets, and the secrets apart.

    For running libpq's own tools (pg_dump): a password on their command line would be
    visible to every user of the machine in the process list.

    Raises:
        ConfigError: libpq cannot read the URL.
    """
    from psycopg.conninfo import make_conninfo

    parameters = _parameters(url)
    secrets = {k: str(parameters.pop(k)) for k in SECRET_PARAMETERS if k in parameters}
    parameters["application_name"] = APPLICATION_NAME
    return make_conninfo("", **parameters), secrets


def database_name(url: DatabaseUrl) -> str | None:
    """The database the URL names (its path or `dbname`), None when it names none.

    Raises:
        ConfigError: libpq cannot read the URL.
    """
    name = _parameters(url).get("dbname")
    return str(name) if name else None


def _parameters(url: DatabaseUrl) -> dict[str, Any]:
    """The URL's parameters as libpq reads them: keys and values percent-decoded.

    Raises:
        ConfigError: libpq cannot read the URL (the password never shown).
    """
    from psycopg.conninfo import conninfo_to_dict

    try:
        return conninfo_to_dict(conninfo(url))
    except psycopg.ProgrammingError as error:
        detail = mask_secrets(str(error).strip(), url.raw)
        raise ConfigError(f"cannot read the URL {url.masked}: {detail}") from None


def with_database(url: DatabaseUrl, name: str) -> DatabaseUrl:
    """The URL of database `name` on `url`'s server, with the same user, host and settings.

    Built from libpq's own reading of the URL, every key decoded as libpq decodes it, so
    that no spelling of `dbname` (`?db%6Eame=`) can point it back at `url`'s database: a
    scratch database must never be the live one.

    Raises:
        ConfigError: libpq cannot read the URL.
    """
    parameters = {k: str(v) for k, v in _parameters(url).items() if k != "dbname"}
    query = urlencode(parameters, quote_via=quote)
    raw = f"postgres:///{quote(name, safe='')}" + (f"?{query}" if query else "")
    return DatabaseUrl("postgres", None, None, raw)


def user_name(url: DatabaseUrl) -> str | None:
    """The user the URL names (its userinfo or `user`), None when it names none.

    Raises:
        ConfigError: libpq cannot read the URL.
    """
    name = _parameters(url).get("user")
    return str(name) if name else None


def connect_options(
    url: DatabaseUrl, *, read_only: bool = True, value_formats: bool = True
) -> dict[str, Any]:
    """What dbinspect adds to the URL's own parameters when it connects.

    Raises:
        ConfigError: libpq cannot read the URL.
    """
    parameters = _parameters(url)
    options: dict[str, Any] = {"application_name": APPLICATION_NAME}
    if "connect_timeout" not in parameters and "PGCONNECT_TIMEOUT" not in os.environ:
        options["connect_timeout"] = CONNECT_TIMEOUT_S
    # After the user's own (the URL's `options`, else PGOPTIONS, which ours would
    # replace): the later `-c` of the same setting wins, so the session is read-only
    # whatever they say. (A session option also outranks the database's own settings.)
    ours = [VALUE_FORMATS] if value_formats else []
    if read_only:
        ours += [
            "-c default_transaction_read_only=on",
            f"-c statement_timeout={INSPECTION_STATEMENT_TIMEOUT_MS}",
            f"-c lock_timeout={INSPECTION_LOCK_TIMEOUT_MS}",
        ]
    if ours:
        own = str(parameters.get("options") or os.environ.get("PGOPTIONS", "")).strip()
        options["options"] = " ".join([own, *ours] if own else ours)
    return options


def session_path(conn: Any) -> SessionPath | None:
    """The path the database gave `conn`, if dbinspect guarded it (see `_GUARD_PATH`)."""
    return _session_paths.get(conn)


def _guard_path(conn: psycopg.Connection[Any], choice: PathChoice) -> None:
    if choice == "database":
        return
    setting, schemas, _ = conn.execute(_READ_PATH).fetchone() or ("", [], "")
    found = tuple(schemas or ())
    guard = conn.execute(_GUARD_PATH, {"schemas": list(found), "pinned": PINNED_PATH})
    pinned = bool((guard.fetchone() or (True,))[0])
    if not conn.autocommit:
        conn.commit()  # a setting made in a transaction rolled back would not hold
    _session_paths[conn] = SessionPath(setting, found, pinned)


async def _guard_path_async(conn: psycopg.AsyncConnection[Any], choice: PathChoice) -> None:
    if choice == "database":
        return
    setting, schemas, _ = await (await conn.execute(_READ_PATH)).fetchone() or ("", [], "")
    found = tuple(schemas or ())
    guard = await conn.execute(_GUARD_PATH, {"schemas": list(found), "pinned": PINNED_PATH})
    pinned = bool((await guard.fetchone() or (True,))[0])
    if not conn.autocommit:
        await conn.commit()
    _session_paths[conn] = SessionPath(setting, found, pinned)


def connect(
    url: DatabaseUrl,
    *,
    read_only: bool = False,
    autocommit: bool = True,
    path: PathChoice = "database",
    value_formats: bool = True,
) -> psycopg.Connection[tuple[Any, ...]]:
    """A synchronous connection (the migration engine's); `read_only` for inspection.

    A migration's passes `value_formats=False`: its SQL runs as under sqlx, in the
    database's own formats.

    Raises:
        ConnectError: One clear line: wrong password, unknown database, refused, timeout.
    """
    options = connect_options(url, read_only=read_only, value_formats=value_formats)
    try:
        conn = psycopg.connect(conninfo(url), autocommit=autocommit, **options)
    except (psycopg.Error, UnicodeError) as error:
        raise connect_error(url, error) from error
    try:
        _guard_path(conn, path)
    except psycopg.Error as error:
        conn.close()
        raise connect_error(url, error) from error
    return conn


async def connect_async(
    url: DatabaseUrl,
    *,
    read_only: bool = True,
    autocommit: bool = True,
    path: PathChoice = "database",
) -> psycopg.AsyncConnection[tuple[Any, ...]]:
    """An asynchronous connection (inspection's): read-only, with timeouts, by default.

    Raises:
        ConnectError: As `connect`.
    """
    options = connect_options(url, read_only=read_only)
    try:
        conn = await psycopg.AsyncConnection.connect(
            conninfo(url), autocommit=autocommit, **options
        )
    except (psycopg.Error, UnicodeError) as error:
        raise connect_error(url, error) from error
    try:
        await _guard_path_async(conn, path)
    except psycopg.Error as error:
        await conn.close()
        raise connect_error(url, error) from error
    return conn


async def cancel_once(work: Awaitable[T]) -> T:
    """Await `work`, a query on a connection, so that it is cancelled at most once.

    psycopg answers a cancelled query by asking the server to stop it and reading the
    connection clean; cancelled again meanwhile, it closes the connection. A Textual
    worker group is cancelled again while a cancelled worker is still ending (a new
    exclusive worker, then a key that stops them all), which lost the Data pane's
    connection on a fast scrollbar drag. Here the caller's every cancellation reaches
    the query once, and the caller waits for the connection to be clean before it
    raises `CancelledError` (the wait is bounded by psycopg's own, 5 s).
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        while not task.done():
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                continue  # already cancelled: the query ends as the first one asked
        if not task.cancelled():
            task.exception()  # the caller was cancelled: an error here is of no use
        raise


_CAUSES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(r"password authentication failed|no password supplied|password is required"),
        "the server refused the password for this user",
        "check the password in the URL, PGPASSWORD or ~/.pgpass",
    ),
    (
        re.compile(r'database "[^"]*" does not exist'),
        "the database does not exist on this server",
        "check the database name; `psql -l` lists them",
    ),
    (
        re.compile(r'role "[^"]*" does not exist'),
        "the user does not exist on this server",
        "check the user name in the URL or PGUSER",
    ),
    (
        re.compile(r"Connection refused|No such file or directory"),
        "nothing is listening there: the server is down or the host or port is wrong",
        "check the host and port, and that PostgreSQL is running",
    ),
    (
        re.compile(r"timeout expired|timed out"),
        "no answer from the server within {timeout} s",
        "check the host, the network and the firewall",
    ),
    (
        re.compile(r"could not translate host name|Name or service not known"),
        "the host name could not be resolved",
        "check the host in the URL or PGHOST",
    ),
    (
        re.compile(r"the database system is (starting up|shutting down|in recovery mode)"),
        "the server is restarting",
        "try again in a moment",
    ),
)


def _connect_timeout(url: DatabaseUrl) -> str:
    """The connect timeout in force: the URL's `connect_timeout`, PGCONNECT_TIMEOUT, or ours.

    libpq waits at least 2 s, whatever a smaller setting says.
    """
    try:
        given = _parameters(url).get("connect_timeout")
    except ConfigError:
        given = None
    given = str(given) if given is not None else os.environ.get("PGCONNECT_TIMEOUT")
    if given is None or not given.strip().isdigit() or int(given) <= 0:
        return str(CONNECT_TIMEOUT_S)
    return str(max(2, int(given)))


def connect_error(url: DatabaseUrl, error: BaseException) -> ConnectError:
    """One clear line for a failed connection, by its cause, the password never shown."""
    detail = mask_secrets(str(error).strip().splitlines()[0] if str(error).strip() else "", url.raw)
    if isinstance(error, UnicodeError):  # Python's IDNA codec refused the host name
        return ConnectError(
            f"cannot connect to {url.masked}: the host name is not a valid DNS name",
            "check the host in the URL (each dot-separated label is 1 to 63 characters)",
        )
    for pattern, cause, hint in _CAUSES:
        if pattern.search(str(error)):
            cause = cause.format(timeout=_connect_timeout(url))
            return ConnectError(f"cannot connect to {url.masked}: {cause}", hint)
    return ConnectError(f"cannot connect to {url.masked}: {detail}")


def server_lost(error: BaseException) -> bool:
    """Whether `error` means the connection is gone (server restarted, backend killed)."""
    if isinstance(error, pg_errors.AdminShutdown | pg_errors.CrashShutdown):
        return True
    if isinstance(error, psycopg.OperationalError):
        text = str(error)
        return any(
            phrase in text
            for phrase in (
                "terminating connection",
                "server closed the connection",
                "consuming input failed",
                "connection is closed",
                "the connection is lost",
                "SSL SYSCALL error",
            )
        )
    return isinstance(error, psycopg.InterfaceError) and "closed" in str(error)


def catalog_error(url: DatabaseUrl, error: Error) -> QueryError:
    """One clear line for a catalog read that failed: server gone, lock, or its message."""
    if server_lost(error):
        return ConnectionLostError(lost_message(url), hint="run it again; in the app, refresh")
    if isinstance(error, pg_errors.LockNotAvailable):
        return PassingError(
            f"{url.masked}: another session holds a lock on the catalog",
            hint="try again when that session's transaction ends",
        )
    primary = error.diag.message_primary or str(error).strip().splitlines()[0]
    return QueryError(f"{url.masked}: {primary}")


def lost_message(url: DatabaseUrl) -> str:
    """What to say when the server went away under us."""
    return f"the connection to {url.masked} was lost (the server restarted or ended this session)"


def settings_of(conn: psycopg.Connection[Any]) -> Mapping[str, str]:
    """The session's parameters the server reported (server_version, TimeZone, ...)."""
    info = conn.info
    return {
        name: value
        for name in ("server_version", "TimeZone", "client_encoding", "application_name")
        if (value := info.parameter_status(name)) is not None
    }


NATIVE_TYPES = frozenset(
    {"int2", "int4", "int8", "oid", "float4", "float8", "text", "varchar", "bpchar", "name",
     "char", "bytea"}
)  # fmt: skip
"""Types whose Python values the console keeps: numbers, text and bytes."""


FIRST_USER_OID = 16384
"""Types from this oid on are a database's own (an enum, a composite, a range)."""


def output_text(value: sql.Composable) -> sql.Composable:
    """`value` as its type's output function writes it, NULL kept: what `::text` gives
    unless the type's owner made a cast of their own to text (`CREATE CAST (mood AS
    text) WITH FUNCTION ...`), which `::text` would run. An output function is the
    type's, written in C by a superuser. (`concat` takes no cast: it calls the output
    function; `num_nulls` tells a NULL from a composite of NULLs, which `IS NULL` does not.)
    """
    return sql.SQL(
        "CASE WHEN pg_catalog.num_nulls({0}) OPERATOR(pg_catalog.=) 0"
        " THEN pg_catalog.concat({0}) END"
    ).format(value)


def text_of(value: sql.Composable, *, own_type: bool) -> sql.Composable:
    """`value` as text: `::text` for the server's own types (booleans as `true`, an inet
    with its mask), `output_text` for a type of the database's own."""
    return output_text(value) if own_type else sql.SQL("{}::text").format(value)


def bound_identifier(*names: str) -> sql.Identifier:
    """`sql.Identifier(*names)` for a statement run with parameters.

    psycopg reads every `%` of such a statement's text as a placeholder or as `%%`, an
    identifier's too: a column named `a%sb` would take a parameter that is not its own.
    Doubled here, each `%` reaches the server as one.
    """
    return sql.Identifier(*(name.replace("%", "%%") for name in names))


BOOL_TYPE, INET_TYPE = 16, 869  # the oids of the two types whose `::text` is not their output


def values_as_text(conn: psycopg.AsyncConnection[Any]) -> None:
    """Make `conn` return every other type as its text, exactly as `dbinspect export` and
    the Data pane write it: the value cast to `text` on the server.

    Dates, numerics, JSON, arrays and the rest come as the server's text, exact and in
    its formats, rather than as Python objects that would print differently. The cast to
    `text` is the output function's text for every type but two that have a cast of
    their own: a boolean is `true`/`false` (its output is `t`/`f`), and an inet always
    carries its mask (`10.0.0.1/32`, where the output leaves out a full one). A domain
    arrives as its base type. Arrays and composites keep the server's text (`{t,f}`), as
    `::text` writes them.
    """
    for info in psycopg.postgres.types:
        if info.name not in NATIVE_TYPES:
            conn.adapters.register_loader(info.oid, TextLoader)
        if info.array_oid:
            conn.adapters.register_loader(info.array_oid, TextLoader)
    conn.adapters.register_loader(BOOL_TYPE, _BoolAsText)
    conn.adapters.register_loader(INET_TYPE, _InetAsText)


class _BoolAsText(TextLoader):
    """`bool::text` from a boolean's output (`t` or `f`)."""

    def load(self, data: Buffer) -> bytes | str:
        return super().load(b"true" if bytes(data) == b"t" else b"false")


class _InetAsText(TextLoader):
    """`inet::text` from an inet's output: the mask added where the output leaves it out
    (a full one, /32 or /128), as the server's `text(inet)` writes it."""

    def load(self, data: Buffer) -> bytes | str:
        output = bytes(data)
        if b"/" not in output:
            output += b"/128" if b":" in output else b"/32"
        return super().load(output)


def error_position(error: BaseException) -> int | None:
    """The 0-based character offset the server gave for an error, if it gave one."""
    diag = getattr(error, "diag", None)
    position = getattr(diag, "statement_position", None)
    return int(position) - 1 if position and str(position).isdigit() else None


def error_message(error: BaseException) -> str:
    """The server's primary message (without the LINE/caret context psycopg appends)."""
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    return str(primary) if primary else str(error).split("\n", 1)[0]
