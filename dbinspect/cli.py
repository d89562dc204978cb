"""Provides the `dbinspect` command line; imports the app only for commands that open it."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from dbinspect import __version__
from dbinspect.backends import Backend, open_backend
from dbinspect.config import Settings, resolve_settings
from dbinspect.errors import ConfigError, DbInspectError
from dbinspect.logs import configure_logging
from dbinspect.ops.info import facts_to_json, facts_to_lines
from dbinspect.ops.schema_dump import schema_to_json, schema_to_sql
from dbinspect.url import DatabaseUrl

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
log = logging.getLogger("dbinspect.cli")


class DefaultCommandGroup(click.Group):
    """A group that runs `open` when the first word is not one of its commands.

    Hand-written (a dozen lines) because click-default-group ships no type hints:
    `dbinspect app.db` and `dbinspect --read-only app.db` open the app, while
    `dbinspect info app.db` runs `info`.
    """

    default_command = "open"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "--version")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def database_options(func: F) -> F:
    """The options every command that opens a database shares."""
    func = click.argument("database", required=False, metavar="[DATABASE]")(func)
    func = click.option(
        "--database-url",
        metavar="URL",
        help="sqlite:PATH, sqlite:///abs/path or a file path (else DATABASE_URL, .env, config).",
    )(func)
    func = click.option(
        "--log-file", type=click.Path(dir_okay=False), help="Append a log to this file."
    )(func)
    return func


def settings_from(
    database: str | None, database_url: str | None, source: str | None = None
) -> Settings:
    """Resolve settings and insist that a database was named somewhere."""
    settings = resolve_settings(database=database, database_url=database_url, source=source)
    return settings


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
    return asyncio.run(coro)


async def with_backend(url: DatabaseUrl, action: Callable[[Backend], Coroutine[Any, Any, T]]) -> T:
    """Open the database, run `action`, and always close it (even on Ctrl+C)."""
    try:
        backend = await open_backend(url)
    except DbInspectError as error:
        log.error("cannot open %s: %s", url.masked, error.message)
        raise
    try:
        return await action(backend)
    finally:
        await backend.aclose()


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dbinspect")
def cli() -> None:
    """Inspect a SQLite database and run its sqlx-compatible migrations.

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
    from dbinspect.tui import launch  # type: ignore[attr-defined]  # Textual only on this path.

    launch(settings, migrate_on_launch=not no_migrate, read_only=read_only, create=create)


@cli.command()
@database_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(
    database: str | None, database_url: str | None, log_file: str | None, as_json: bool
) -> None:
    """Print a database's connection facts and object counts.

    Example:
        dbinspect info app.db
        dbinspect info --json --database-url sqlite:app.db
    """
    configure_logging(log_file)
    url = require_url(settings_from(database, database_url))

    async def gather(backend: Backend) -> Any:
        return await backend.facts()

    facts = run_async(with_backend(url, gather))
    if as_json:
        click.echo(json.dumps(facts_to_json(url, facts), indent=2))
        return
    lines = facts_to_lines(url, facts)
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        click.echo(f"{label + ':':<{width + 1}} {value}")


@cli.command()
@database_options
@click.option(
    "--format", "fmt", type=click.Choice(["sql", "json"]), default="sql", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
def schema(
    database: str | None,
    database_url: str | None,
    log_file: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Print every object's CREATE SQL (or structure as JSON), sorted deterministically.

    Example:
        dbinspect schema app.db -o schema.sql
        dbinspect schema --format json app.db
    """
    configure_logging(log_file)
    url = require_url(settings_from(database, database_url))

    async def gather(backend: Backend) -> Any:
        return await backend.schema()

    loaded = run_async(with_backend(url, gather))
    text = (
        schema_to_sql(loaded)
        if fmt == "sql"
        else json.dumps(schema_to_json(loaded), indent=2, ensure_ascii=False) + "\n"
    )
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{output}: cannot write: {error.strerror}") from None


def _register_optional_commands() -> None:
    """Add command groups that live in their own modules."""
    try:
        from dbinspect.cli_migrate import migrate
    except ImportError:  # pragma: no cover - only while the module is absent
        return
    cli.add_command(migrate)


_register_optional_commands()


def main() -> None:
    """Entry point: run the CLI; failures are one line on stderr and exit 1."""
    try:
        cli.main(standalone_mode=False, prog_name="dbinspect")
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(1)
    except click.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except DbInspectError as error:
        click.echo(f"error: {error.one_line()}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(130)
