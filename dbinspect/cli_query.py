"""Provides `dbinspect query`: run SQL and stream its results to stdout as exact bytes."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from dbinspect.cli import _StdoutSink, database_options, require_url, run_async, settings_from
from dbinspect.cli_args import TextCommand
from dbinspect.cli_output import say
from dbinspect.errors import ConfigError
from dbinspect.logs import configure_logging

if TYPE_CHECKING:
    from dbinspect.extensions import Extension
    from dbinspect.query.console import ConsoleSession
    from dbinspect.query.script import OutputFormat
    from dbinspect.url import DatabaseUrl

FORMATS = ("table", "csv", "json", "jsonl")


@click.command("query", cls=TextCommand)
@database_options
@click.argument("sql", required=False, metavar="SQL")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table (for people), csv, json (an array per result) or jsonl (an object per row).",
)
@click.option(
    "--write",
    is_flag=True,
    help="Let statements write (DROP, TRUNCATE and ALTER too); each is committed once run.",
)
def query(
    database: str | None,
    sql: str | None,
    database_url: str | None,
    log_file: str | None,
    fmt: OutputFormat,
    write: bool,
) -> None:
    """Run SQL (several statements run in order) and print each result's rows.

    Read-only unless --write is given. SQL `-` reads the statements from stdin. Rows are
    streamed: a result of any size runs in the same memory. See README: query.

    \b
    Example:
        dbinspect query app.db "select * from users where id < 10"
        dbinspect query --format csv app.db "select * from events" > events.csv
        echo "update users set active = 0" | dbinspect query --write app.db -
    """
    if sql is None:  # one word: the SQL, the database coming from --database-url
        database, sql = None, database
    if sql is None:
        raise click.UsageError("missing the SQL to run")
    configure_logging(log_file)
    if sql == "-":
        sql = _read_stdin()
    settings = settings_from(database, database_url)
    url = require_url(settings)
    run_async(_run(url, sql, fmt, write, settings.extensions.inspection))


def _read_stdin() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"the SQL on stdin is not UTF-8 (byte {error.start + 1} is not valid)"
        ) from None


def _tell(line: str) -> None:
    say(line, err=True)


def _warn(line: str) -> None:
    say(f"warning: {line}", err=True)


async def _run(
    url: DatabaseUrl, sql: str, fmt: OutputFormat, write: bool, extensions: tuple[Extension, ...]
) -> None:
    import asyncio

    from dbinspect.query.console import open_console
    from dbinspect.query.script import run_buffer

    session = await open_console(url, read_only=not write, extensions=extensions)
    interrupted = False
    try:
        # What each write committed is news to a person at a terminal; a script reads
        # the exit status, and on failure the error line says what ran and was committed.
        on_commit = _tell if sys.stderr.isatty() else None
        await run_buffer(
            session, sql, fmt, _StdoutSink(), write=write, tell=_warn, on_commit=on_commit
        )
    except asyncio.CancelledError:
        # Ctrl+C: the statement running on the database stops too (the cancelled await
        # alone would leave SQLite running it on the driver's thread).
        interrupted = True
        await session.interrupt()
        raise
    finally:
        if interrupted:
            await _close_interrupting(session)
        else:
            await session.aclose()  # rolls back anything not committed


async def _close_interrupting(session: ConsoleSession) -> None:
    """Close `session` (rolling back), interrupting it again until it is closed.

    Ctrl+C may come as the next statement is handed to SQLite's thread but before it
    begins: an interrupt finds nothing running then, and the close would wait behind a
    statement that never ends. Interrupting until the close is done stops it wherever it
    started.
    """
    import asyncio

    async def keep_interrupting() -> None:
        while True:
            await asyncio.sleep(0.05)
            await session.interrupt()

    ticker = asyncio.ensure_future(keep_interrupting())
    try:
        await session.aclose()
    finally:
        ticker.cancel()
