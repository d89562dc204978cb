"""Provides the `dbinspect` command line; imports the app only for commands that open it."""

from __future__ import annotations

import gc
import logging
import re
import sys
from collections.abc import Callable, Coroutine
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dbinspect import __version__
from dbinspect.cli_args import TextCommand
from dbinspect.cli_extensions import extension_options, with_extensions
from dbinspect.cli_foreign import other_source_option
from dbinspect.cli_output import say, say_block, write_document
from dbinspect.errors import ConfigError, DbInspectError
from dbinspect.logs import configure_logging

# Only click is imported up front: `--version` and `--help` must answer in well under
# 0.15 s, and `migrate run` races dbmate, so the data layer (asyncio, aiosqlite), Textual,
# and even json load inside the commands that use them.
if TYPE_CHECKING:
    from dbinspect.backends import Backend
    from dbinspect.config import Settings
    from dbinspect.extensions import Extension
    from dbinspect.url import DatabaseUrl

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# Command groups that live in their own modules, loaded when first used:
# name -> (module, attribute, one-line help shown by --help without importing).
LAZY_COMMANDS = {
    "migrate": (
        "dbinspect.cli_migrate",
        "migrate",
        "Create, apply, revert and inspect sqlx-compatible migrations.",
    ),
    "reset": (
        "dbinspect.cli_ops",
        "reset",
        "Back up, drop every object and apply the migrations again (needs --force).",
    ),
    "repair": (
        "dbinspect.cli_ops",
        "repair",
        "Rebuild a damaged SQLite database into a new file, saving every readable row.",
    ),
    "check": (
        "dbinspect.cli_ops",
        "check",
        "Check integrity, migration state and drift; exit 1 when anything is wrong.",
    ),
    "query": (
        "dbinspect.cli_query",
        "query",
        "Run SQL and stream each result's rows to stdout (read-only unless --write).",
    ),
}


class DefaultCommandGroup(click.Group):
    """A group that runs `open` when the first word is not one of its commands.

    Hand-written (a dozen lines) because click-default-group ships no type hints:
    `dbinspect app.db` and `dbinspect --read-only app.db` open the app, while
    `dbinspect info app.db` runs `info`.
    """

    default_command = "open"
    command_class = TextCommand  # every command refuses an argument that is not UTF-8

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        known = {*self.commands, *LAZY_COMMANDS, "--help", "-h", "--version"}
        if not args or args[0] not in known:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(import_module(module), attribute), cmd_name)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (name, self.commands[name].get_short_help_str(60))
            if name in self.commands
            else (name, LAZY_COMMANDS[name][2])
            for name in self.list_commands(ctx)
            if name in LAZY_COMMANDS or not self.commands[name].hidden
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def database_options(func: F) -> F:
    """The options every command that opens a database shares."""
    func = click.argument("database", required=False, metavar="[DATABASE]")(func)
    func = click.option(
        "--database-url",
        metavar="URL",
        help="sqlite:PATH, a path or postgres://USER@HOST/DB (else DATABASE_URL, .env, config).",
    )(func)
    func = click.option(
        "--log-file", type=click.Path(dir_okay=False), help="Append a log to this file."
    )(func)
    return extension_options(func)


def settings_from(
    database: str | None, database_url: str | None, source: str | None = None
) -> Settings:
    """Resolve settings from the shared options, the environment and config files."""
    from dbinspect.config import resolve_settings

    settings = resolve_settings(database=database, database_url=database_url, source=source)
    return with_extensions(settings)


def _dash_is_stdout(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    return None if value is not None and str(value) == "-" else value


def _dash_refused(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None and str(value) == "-":
        raise click.BadParameter("a backup is a file: name one, or leave -o out for the default")
    return value


def _output_option(
    callback: Callable[[click.Context, click.Parameter, Path | None], Path | None],
    help_text: str,
) -> Callable[[F], F]:
    return click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
        callback=callback,
        help=help_text,
    )


stdout_output = _output_option(_dash_is_stdout, "Write here (- for standard output, the default).")
file_output = _output_option(_dash_refused, "Write here.")


def require_url(settings: Settings) -> DatabaseUrl:
    """The database URL, or a usage error naming every place it can come from."""
    if settings.url is None:
        raise ConfigError(
            "no database given",
            "pass a path, --database-url, or set DATABASE_URL (environment or .env)",
        )
    return settings.url


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine on a fresh event loop (the CLI's only loop)."""
    import asyncio

    from dbinspect.cli_exit import cleanup_on_interrupt, quiet_other_threads
    from dbinspect.event_loop import signals_wake

    with asyncio.Runner() as runner:
        loop = runner.get_loop()  # built while Ctrl+C still ends the process at once
        # From here Ctrl+C cancels the coroutine, which closes the database first.
        with signals_wake(loop), cleanup_on_interrupt():
            try:
                return runner.run(coro)
            except KeyboardInterrupt:
                coro.close()  # if it never started: no "never awaited" warning at exit
                quiet_other_threads()  # before the loop closes: see quiet_other_threads
                raise


async def with_backend(
    url: DatabaseUrl,
    action: Callable[[Backend], Coroutine[Any, Any, T]],
    extensions: tuple[Extension, ...] = (),
) -> T:
    """Open the database (with `extensions`), run `action`, and always close it (even on Ctrl+C)."""
    from dbinspect.backends import open_backend

    backend = await open_backend(url, extensions=extensions)  # its error is logged by main
    try:
        return await action(backend)
    finally:
        await backend.aclose()


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dbinspect")
def cli() -> None:
    """Inspect a SQLite or PostgreSQL database and run its sqlx-compatible migrations.

    With a database and no command, opens the terminal app on it.

    Example:
        dbinspect app.db
        dbinspect info --json sqlite:app.db
    """


@cli.command("open")
@database_options
@click.option("--source", metavar="DIR", help="Migrations folder (applied on launch).")
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations on launch.")
@click.option("--read-only", is_flag=True, help="Open with mode=ro; disable every write action.")
@click.option("--create", is_flag=True, help="Create the database file if it does not exist.")
def open_command(
    database: str | None,
    database_url: str | None,
    log_file: str | None,
    source: str | None,
    no_migrate: bool,
    read_only: bool,
    create: bool,
) -> None:
    """Open the terminal app on a database (the default command).

    Example:
        dbinspect app.db --source migrations
    """
    configure_logging(log_file)
    settings = settings_from(database, database_url, source)
    require_url(settings)
    from dbinspect.cli_exit import cleanup_on_interrupt
    from dbinspect.tui import launch  # Textual is imported only on this path.

    with cleanup_on_interrupt():  # the app restores the terminal before the process ends
        launch(settings, migrate_on_launch=not no_migrate, read_only=read_only, create=create)


@cli.command()
@database_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@other_source_option
def info(
    database: str | None,
    database_url: str | None,
    log_file: str | None,
    as_json: bool,
    other_source: Path | None,
) -> None:
    """Print a database's connection facts, object counts and other tools' migrations.

    Example:
        dbinspect info app.db
        dbinspect info --json --database-url sqlite:app.db
    """
    from dbinspect.cli_foreign import histories_json, read_for_cli, summaries
    from dbinspect.ops.info import facts_to_json, facts_to_lines

    configure_logging(log_file)
    settings = settings_from(database, database_url)
    url = require_url(settings)

    async def gather(backend: Backend) -> Any:
        return await backend.facts()

    facts = run_async(with_backend(url, gather, settings.extensions.inspection))
    others = read_for_cli(url, other_source, best_effort=True)
    if as_json:
        import json

        from dbinspect.textsafe import escape_json

        document = {**facts_to_json(url, facts), "other_migrations": histories_json(others)}
        write_document(escape_json(json.dumps(document, indent=2)) + "\n")
        return
    lines = facts_to_lines(url, facts)
    if others:
        lines.append(("Other migrations", summaries(others)))
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        say(f"{label + ':':<{width + 1}} {value}")


@cli.command()
@database_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["sql", "json", "dbmate"]),
    default="sql",
    show_default=True,
    help="dbmate: the layout of dbmate's db/schema.sql, applied versions included.",
)
@stdout_output
def schema(
    database: str | None,
    database_url: str | None,
    log_file: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Print every object's CREATE SQL (or structure as JSON), sorted deterministically.

    On PostgreSQL, --format sql runs `pg_dump --schema-only`. --format dbmate writes
    what `dbmate dump` writes to db/schema.sql (it runs pg_dump or the sqlite3 shell).

    Example:
        dbinspect schema app.db -o schema.sql
        dbinspect schema --format json app.db
        dbinspect schema --format dbmate app.db -o db/schema.sql
    """
    from dbinspect.cli_output import document_bytes
    from dbinspect.json_document import indented
    from dbinspect.ops.schema_dump import schema_to_json, schema_to_sql
    from dbinspect.textsafe import escape_json

    configure_logging(log_file)
    settings = settings_from(database, database_url)
    url = require_url(settings)

    async def gather(backend: Backend) -> Any:
        return await (backend.outline() if fmt == "sql" else backend.schema())

    if fmt == "dbmate":
        from dbinspect.ops.schema_dbmate import dbmate_schema

        text = dbmate_schema(url)
    elif url.backend == "postgres" and fmt == "sql":
        from dbinspect.ops.pg_dump import dump_schema

        text = dump_schema(url)  # pg_dump's own, not a second DDL generator
    elif url.backend == "postgres":
        from dbinspect.ops.schema_dump_postgres import postgres_schema_to_json

        loaded = run_async(with_backend(url, gather))
        text = escape_json(indented(postgres_schema_to_json(loaded))) + "\n"
    else:
        loaded = run_async(with_backend(url, gather, settings.extensions.inspection))
        text = (
            schema_to_sql(loaded)
            if fmt == "sql"
            else escape_json(indented(schema_to_json(loaded))) + "\n"
        )
    if output is None:
        write_document(text)
        return
    try:
        output.write_bytes(document_bytes(text))  # the bytes a pipe would get
    except OSError as error:
        raise ConfigError(f"{output}: cannot write: {error.strerror}") from None


@cli.command()
@database_options
@click.argument("table", required=False, metavar="TABLE")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl", "sql"]),
    help="csv (the default), jsonl or sql; else from the -o file's extension.",
)
@stdout_output
def export(
    database: str | None,
    table: str | None,
    database_url: str | None,
    log_file: str | None,
    fmt: str | None,
    output: Path | None,
) -> None:
    """Write a table's or view's rows as CSV, JSON Lines or SQL INSERTs (README: Exporting rows).

    With -o the file appears only once complete (never half-written, mode 0600).

    Example:
        dbinspect export app.db events -o events.csv
        dbinspect export --format jsonl app.db events | jq .
    """
    from dbinspect.cli_tables import resolve_relation
    from dbinspect.export.encode import FORMATS, Format
    from dbinspect.export.exporter import export_to_file, write_rows
    from dbinspect.models import RowQuery

    if table is None:  # one word: the table, the database coming from --database-url
        database, table = None, database
    if table is None:
        raise click.UsageError("missing the TABLE to export")
    configure_logging(log_file)
    settings = settings_from(database, database_url)
    url = require_url(settings)
    suffix = output.suffix.lstrip(".").lower() if output is not None else ""
    chosen: Format = next((f for f in FORMATS if f == (fmt or suffix)), "csv")

    async def write(backend: Backend) -> int:
        # TABLE is read as SQL reads a name (`schema.table`, quoted parts exact).
        relation = await resolve_relation(backend, table)
        if output is None:
            return await write_rows(backend, relation, RowQuery(), chosen, _StdoutSink())
        return await export_to_file(backend, relation, RowQuery(), chosen, output)

    count = run_async(with_backend(url, write, settings.extensions.inspection))
    if output is not None:
        say(f"Exported {count:,} row{'' if count == 1 else 's'} to {output}", err=True)


class _StdoutSink:
    """An export's bytes to stdout, as `write_document` writes any document: exact bytes in
    a pipe or a file, controls escaped on a terminal. Pages hold whole characters."""

    def write(self, data: bytes, /) -> int:
        write_document(data.decode("utf-8", "surrogateescape"))
        return len(data)


@cli.command()
@database_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["sqlite", "sql", "json", "custom"]),
    help="sqlite (SQLite's default), sql (PostgreSQL's: pg_dump), json, custom (pg_dump -Fc).",
)
@file_output
def backup(
    database: str | None,
    database_url: str | None,
    log_file: str | None,
    fmt: Any,
    output: Path | None,
) -> None:
    """Copy a database to a file that appears only once complete and verified (mode 0600).

    The default file is <db>-<UTC timestamp>.<ext> next to the database.

    Example:
        dbinspect backup app.db
        dbinspect backup app.db --format sql -o app.sql
    """
    from dbinspect.cli_exit import cleanup_on_interrupt
    from dbinspect.cli_progress import TerminalProgress
    from dbinspect.ops.backup import run_backup

    configure_logging(log_file)
    url = require_url(settings_from(database, database_url))
    with TerminalProgress("Backing up") as progress, cleanup_on_interrupt():
        done = run_backup(url, fmt, output, progress)
    say(f"Backed up {url.masked} to {done.path} ({done.size:,} bytes; {done.detail})", err=True)


@cli.command()
@click.argument("backup_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@database_options
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
def restore(
    backup_file: Path,
    database: str | None,
    database_url: str | None,
    log_file: str | None,
    force: bool,
) -> None:
    """Replace a database with a backup (any format, read from its content).

    The backup is checked in a scratch database first; the database as it was is kept
    as a snapshot, whose place is printed. On PostgreSQL the backup goes into a new
    database that then takes the live one's name; the old one is kept, renamed.

    Example:
        dbinspect restore app-20250101T000000Z.sqlite app.db --force
        dbinspect restore app.dump postgres://localhost/app --force
    """
    from dbinspect.cli_exit import cleanup_on_interrupt
    from dbinspect.cli_progress import TerminalProgress
    from dbinspect.ops.restore import run_restore

    configure_logging(log_file)
    url = require_url(settings_from(database, database_url))

    def tell(line: str) -> None:
        say(line, err=True)

    def step(line: str) -> None:
        if sys.stderr.isatty():
            sys.stderr.write("\r\x1b[K")  # over the progress line, if one is drawn
            say(f"{line}...", err=True)

    with TerminalProgress("Restoring") as progress, cleanup_on_interrupt():
        done = run_restore(
            backup_file, url, force=force, on_progress=progress, tell=tell, on_step=step
        )
    say(f"Restored {url.masked} from the {done.kind} backup {backup_file}", err=True)


@cli.command()
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-open", is_flag=True, help="Build the database and print its info only.")
def demo(path: Path | None, no_open: bool) -> None:
    """Build a sample database from the bundled migrations, then open it.

    PATH defaults to ./dbinspect-demo.db; an existing demo file there is reused.

    Example:
        dbinspect demo
        dbinspect demo /tmp/demo.db --no-open
    """
    from dbinspect.ops.demo import build_demo

    path = path or Path("dbinspect-demo.db")
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]+):", str(path))
    if scheme and not path.exists():  # `postgres://...` (a drive letter is one character)
        raise ConfigError(
            f"demo builds a SQLite file, not a {scheme.group(1)} database",
            "pass a file path, e.g. dbinspect demo /tmp/demo.db",
        )
    if not (path.exists() and path.stat().st_size > 0):
        run_async(build_demo(path))
        say(f"Built the demo database at {path}", err=True)
    if no_open:
        info.main([str(path)], standalone_mode=False, prog_name="dbinspect info")
        return
    from dbinspect.cli_exit import cleanup_on_interrupt
    from dbinspect.config import resolve_settings
    from dbinspect.tui import launch

    settings = resolve_settings(database=str(path))
    with cleanup_on_interrupt():
        launch(settings, migrate_on_launch=False, read_only=False, create=False)


def main() -> None:
    """Entry point: run the CLI; failures are one line on stderr and exit 1."""
    from dbinspect.cli_exit import (
        caused_by_interrupt,
        exit_interrupted,
        flush_stdout,
        ignore_interrupts,
    )

    # A command runs once and frees everything when the process ends, so the cyclic GC
    # would only walk the imported modules' objects again and again, and once more at
    # exit: about 3% of `migrate run`'s CPU. The app turns it back on (tui.launch).
    gc.disable()
    try:
        _run_cli()
        flush_stdout()
    except KeyboardInterrupt:  # arrived outside click's handling (e.g. while reporting)
        exit_interrupted()
    except Exception as error:
        if caused_by_interrupt(error):  # wrapped by Python, e.g. while creating a class
            exit_interrupted()
        raise
    finally:
        ignore_interrupts()  # the outcome is decided; exit without a traceback
        gc.freeze()  # exit without a last full collection


def _run_cli() -> None:
    from dbinspect.cli_exit import exit_interrupted, exit_on_os_error, exit_on_output_error, fail
    from dbinspect.cli_output import OutputError

    try:
        cli.main(standalone_mode=False, prog_name="dbinspect")
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort as abort:
        # click turns Ctrl+C into Abort; a run it stopped ends as an interrupted one.
        if isinstance(abort.__cause__, KeyboardInterrupt):
            exit_interrupted()
        fail("aborted")
    except click.ClickException as error:
        import io

        # Usage errors quote the arguments given: escaped like every human-facing line.
        usage = io.StringIO()
        error.show(file=usage)
        say_block(usage.getvalue(), err=True)
        sys.exit(error.exit_code)
    except DbInspectError as error:
        # Every command's failure goes to --log-file too (the message masks the password).
        logging.getLogger("dbinspect.cli").error("%s", error.one_line())
        # Messages quote paths and names from the database: never let them drive the terminal.
        fail(error.one_line())
    except KeyboardInterrupt:
        exit_interrupted()
    except OutputError as error:
        exit_on_output_error(error)
    except OSError as error:  # click's own output (--help, --version) or a stray failure
        exit_on_os_error(error)
    except UnicodeEncodeError as error:
        # A safety net under `TextCommand` and the URL's checks: text that came from
        # bytes that are not UTF-8 (an environment variable, a file name, a config
        # value), met where text must be encoded. The text itself may hold a password.
        if error.reason != "surrogates not allowed":
            raise
        from dbinspect.cli_args import undecodable_byte

        found = undecodable_byte(error.object[error.start : error.end])
        byte = f" ({found[1]})" if found else ""
        fail(f"a name or value given is not valid UTF-8{byte} and cannot be used here")
