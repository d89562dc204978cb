"""Provides `restore` into PostgreSQL: the backup goes into a new database, which then
takes the live one's name.

1. A database that holds tables, views, sequences or functions is refused without
   `force`, and so is one with other sessions connected (its name could not be swapped).
2. The backup is loaded into a new database on the same server, created from
   `template0` with the live one's encoding and locale: `sql` through psql, `custom`
   through pg_restore (`restore_pg_load`), `json` through the driver (`restore_pg_json`).
   Any failure drops that database; the live one is never touched.
3. In one transaction, the live database is renamed to `<db>_before_restore_<UTC
   timestamp>` (the snapshot, kept as it was) and the new one to `<db>`.

Databases are created, renamed and dropped from a connection to the server's
`postgres` database (or `template1`): a database cannot be renamed from inside itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dbinspect import pg_driver
from dbinspect.errors import ConnectError, OperationError
from dbinspect.ops.backup import Progress
from dbinspect.ops.restore import SNAPSHOT_TOLD
from dbinspect.url import DatabaseUrl

sql = pg_driver.sql
Step = Callable[[str], None]

NAME_BYTES = 63
"""PostgreSQL's longest name (NAMEDATALEN - 1); a longer one is cut short silently."""

_OBJECTS = r"""
SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e'))
     + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e'))
"""


def restore_postgres(
    backup: Path,
    kind: str,
    url: DatabaseUrl,
    *,
    force: bool,
    on_progress: Progress | None = None,
    tell: Callable[[str], None] | None = None,
    on_step: Step | None = None,
) -> str | None:
    """Replace the PostgreSQL database `url` names with the backup; return the snapshot's
    name (None when there was no database of that name yet).

    Raises:
        OperationError: The database holds objects and `force` was not given; other
            sessions are connected to it; the backup does not load. It is untouched.
        ConfigError: A client tool the format needs is missing or too old.
    """
    name = pg_driver.database_name(url)
    if not name:
        raise OperationError(f"{url.masked} names no database to restore into")
    step = on_step or (lambda _line: None)
    admin = _admin_connection(url, name)
    try:
        live = _database(admin, name)
        if live is not None:
            objects, ours = _object_count(url)
            if objects and not force:
                raise OperationError(
                    f"{name} holds {objects} table{'s' if objects != 1 else ''}, views, "
                    "sequences or functions: restore would replace the whole database",
                    "pass --force to replace it (the database as it was is kept, renamed)",
                )
            _refuse_sessions(admin, name, ours)
        temp = fit_name(name, f"_restoring_{uuid.uuid4().hex[:8]}")
        step(f"Loading the {kind} backup into a new database, {temp}")
        _create(admin, temp, live)
        try:
            _load(backup, kind, pg_driver.with_database(url, temp), on_progress, tell)
            if live is not None and live["owner"] != _current_user(admin):
                _give(admin, temp, live["owner"], tell)
            step(f"Swapping {temp} in place of {name}")
            snapshot = _swap(admin, name, temp, live is not None)
        except BaseException:
            _drop(admin, temp)
            raise
    finally:
        admin.close()
    if snapshot is not None and tell is not None:
        tell(f"{SNAPSHOT_TOLD}the database {snapshot} on the same server")
    elif tell is not None:  # a name mistyped makes a new database: say so
        tell(f"There was no database {name} on the server: the restore created it")
    return snapshot


def fit_name(base: str, suffix: str) -> str:
    """`base + suffix`, `base` cut short (at a character) to fit PostgreSQL's 63 bytes."""
    room = NAME_BYTES - len(suffix.encode())
    cut = base.encode()[:room].decode("utf-8", "ignore")
    return cut + suffix


def _admin_connection(url: DatabaseUrl, name: str) -> pg_driver.Connection[tuple[Any, ...]]:
    """A connection to another database of the server, to create, rename and drop."""
    last: ConnectError | None = None
    for other in ("postgres", "template1"):
        if other == name:
            continue
        try:
            return pg_driver.connect(pg_driver.with_database(url, other))
        except ConnectError as error:
            last = error
    assert last is not None
    raise OperationError(
        f"cannot reach the server's postgres or template1 database: {last.message}",
        "restore creates and renames databases from there",
    )


def _database(admin: pg_driver.Connection[tuple[Any, ...]], name: str) -> dict[str, Any] | None:
    """The live database's owner, encoding and locale settings, None when there is none."""
    row = admin.execute(
        "SELECT pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), to_jsonb(d) "
        "FROM pg_database d WHERE d.datname = %s",
        (name,),
    ).fetchone()
    if row is None:
        return None
    return {"owner": row[0], "encoding": row[1], **row[2]}


def _object_count(url: DatabaseUrl) -> tuple[int, int]:
    """The objects the database holds, and the pid of the session that counted them."""
    try:
        conn = pg_driver.connect(url, read_only=True, path="guarded")
    except ConnectError as error:
        raise OperationError(error.message, error.hint) from None
    try:
        count = int(conn.execute(_OBJECTS.encode()).fetchone()[0])  # type: ignore[index]
        return count, conn.info.backend_pid
    finally:
        conn.close()


def _refuse_sessions(admin: pg_driver.Connection[tuple[Any, ...]], name: str, ours: int) -> None:
    """Other clients on the database (not `ours`, closed but maybe not yet gone; not
    autovacuum, whose workers give way to a rename) would make the swap fail."""
    row = admin.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> %s "
        "AND backend_type = 'client backend'",
        (name, ours),
    ).fetchone()
    count = int(row[0]) if row else 0
    if count:
        raise _sessions_error(name, count)


def _sessions_error(name: str, count: int | None) -> OperationError:
    many = (
        "other sessions are"
        if count is None
        else f"{count} other session" + ("s are" if count != 1 else " is")
    )
    return OperationError(
        f"{many} connected to {name}: restore swaps its name, which PostgreSQL allows "
        "only with no one connected",
        "close them (pg_stat_activity lists them), then run restore again",
    )


def _create(
    admin: pg_driver.Connection[tuple[Any, ...]], temp: str, live: dict[str, Any] | None
) -> None:
    """The new database, empty (`template0`), with the live one's encoding and locale."""
    options: list[sql.Composable] = [sql.SQL("TEMPLATE template0")]
    if live is not None:
        options.append(sql.SQL("ENCODING {}").format(sql.Literal(live["encoding"])))
        options.append(sql.SQL("LC_COLLATE {}").format(sql.Literal(live["datcollate"])))
        options.append(sql.SQL("LC_CTYPE {}").format(sql.Literal(live["datctype"])))
        provider = live.get("datlocprovider")
        locale = live.get("datlocale") or live.get("daticulocale")
        if provider == "i" and locale:
            options.append(sql.SQL("LOCALE_PROVIDER icu ICU_LOCALE {}").format(sql.Literal(locale)))
        elif provider == "b" and locale:
            options.append(
                sql.SQL("LOCALE_PROVIDER builtin BUILTIN_LOCALE {}").format(sql.Literal(locale))
            )
    try:
        admin.execute(
            sql.SQL("CREATE DATABASE {} {}").format(
                sql.Identifier(temp), sql.SQL(" ").join(options)
            )
        )
    except pg_driver.Error as error:
        raise OperationError(
            f"cannot create the database to restore into: {_reason(error)}",
            "the user needs the CREATEDB privilege for this",
        ) from None


def _load(
    backup: Path,
    kind: str,
    target: DatabaseUrl,
    progress: Progress | None,
    tell: Callable[[str], None] | None,
) -> None:
    """Load the backup into the new database; any failure is the backup's."""
    from dbinspect.ops.restore_pg_load import load_custom_archive, load_plain_dump

    try:
        if kind == "sql":
            load_plain_dump(backup, target, progress)
        elif kind == "custom":
            load_custom_archive(backup, target)
        else:
            from dbinspect.ops.restore_pg_json import load_postgres_json

            with backup.open("rb") as source:
                load_postgres_json(source, target, progress, tell)
    except OperationError as error:
        raise OperationError(
            f"the backup {backup} does not load: {error.message}", error.hint
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise OperationError(f"the backup {backup} is damaged: {error!r}") from None


def _current_user(admin: pg_driver.Connection[tuple[Any, ...]]) -> str:
    row = admin.execute("SELECT current_user").fetchone()
    return str(row[0]) if row else ""


def _give(
    admin: pg_driver.Connection[tuple[Any, ...]],
    temp: str,
    owner: str,
    tell: Callable[[str], None] | None,
) -> None:
    """The new database gets the live one's owner where this user may give it."""
    try:
        admin.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(temp), sql.Identifier(owner)
            )
        )
    except pg_driver.Error as error:
        if tell is not None:
            tell(f"The restored database is owned by you, not by {owner}: {_reason(error)}")


def _swap(
    admin: pg_driver.Connection[tuple[Any, ...]], name: str, temp: str, live: bool
) -> str | None:
    """Rename the live database to its snapshot name and the new one to `name`, at once."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    snapshot = None
    if live:
        snapshot = fit_name(name, f"_before_restore_{stamp}")
        number = 1
        while _database(admin, snapshot) is not None:  # a restore within the same second
            number += 1
            snapshot = fit_name(name, f"_before_restore_{stamp}_{number}")
    rename = "ALTER DATABASE {} RENAME TO {}"
    try:
        with admin.transaction():
            if snapshot is not None:
                admin.execute(
                    sql.SQL(rename).format(sql.Identifier(name), sql.Identifier(snapshot))
                )
            admin.execute(sql.SQL(rename).format(sql.Identifier(temp), sql.Identifier(name)))
    except pg_driver.pg_errors.ObjectInUse:
        raise _sessions_error(name, None) from None  # one connected since the check
    except pg_driver.Error as error:
        raise OperationError(
            f"cannot swap the restored database in place of {name}: {_reason(error)} "
            "(it is unchanged)",
            "renaming a database needs its owner (or a superuser) with CREATEDB",
        ) from None
    return snapshot


def _drop(admin: pg_driver.Connection[tuple[Any, ...]], temp: str) -> None:
    try:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(temp))
        )
    except pg_driver.Error:
        pass  # the first error is the one to tell; this database name says what it was


def _reason(error: pg_driver.Error) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
