"""Provides `dbinspect migrate recreate`: a migration pair that recreates a SQLite table."""

from __future__ import annotations

import click

from dbinspect.cli_args import TextCommand
from dbinspect.cli_exit import cleanup_on_interrupt
from dbinspect.cli_output import say, write_document
from dbinspect.errors import ConfigError
from dbinspect.logs import configure_logging
from dbinspect.migrate.recreate import Changes, default_description


def _pair(value: str, option: str, what: str) -> tuple[str, str]:
    name, sep, rest = value.partition("=")
    if not sep or not name.strip() or not rest.strip():
        raise click.UsageError(f"{option}: expected {what}, got {value!r}")
    return name.strip(), rest.strip()


def _columns(value: str, option: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(","))
    if not all(names):
        raise click.UsageError(f"{option}: expected COL[,COL...], got {value!r}")
    return names


def changes_from_options(options: dict[str, object]) -> Changes:
    """The `Changes` the command's options ask for (option values as click gives them)."""

    def many(key: str) -> list[str]:
        value = options.get(key) or ()
        assert isinstance(value, (tuple, list))
        return [str(v) for v in value]

    pk = options.get("pk")
    order = options.get("column_order")
    strict = options.get("strict")
    return Changes(
        types=[_pair(v, "--type", "COL=TYPE") for v in many("type_")],
        renames=[_pair(v, "--rename", "OLD=NEW") for v in many("rename")],
        drops=many("drop"),
        adds=many("add"),
        not_null=many("not_null"),
        nullable=many("nullable"),
        defaults=[_pair(v, "--default", "COL=EXPR") for v in many("default")],
        drop_defaults=many("drop_default"),
        pk=_columns(str(pk), "--pk") if pk else None,
        add_fks=[_pair(v, "--add-fk", "COL=TABLE(COL)") for v in many("add_fk")],
        drop_fks=many("drop_fk"),
        uniques=[_columns(v, "--unique") for v in many("unique")],
        checks=many("check"),
        column_order=_columns(str(order), "--column-order") if order else None,
        strict=bool(strict) if strict is not None else None,
        without_rowid=bool(options.get("without_rowid")),
    )


@click.command(cls=TextCommand)
@click.argument("table")
@click.option("--type", "type_", multiple=True, metavar="COL=TYPE", help="Change a column's type.")
@click.option("--rename", multiple=True, metavar="OLD=NEW", help="Rename a column.")
@click.option("--drop", multiple=True, metavar="COL", help="Drop a column (loses its values).")
@click.option("--add", multiple=True, metavar='"COL TYPE [...]"', help="Add a column.")
@click.option("--not-null", multiple=True, metavar="COL", help="Make a column NOT NULL.")
@click.option("--nullable", multiple=True, metavar="COL", help="Drop a column's NOT NULL.")
@click.option("--default", multiple=True, metavar="COL=EXPR", help="Set a column's default.")
@click.option("--drop-default", multiple=True, metavar="COL", help="Drop a column's default.")
@click.option("--pk", metavar="COL[,COL]", help="Make these columns the primary key.")
@click.option("--add-fk", multiple=True, metavar="COL=TABLE(COL)", help="Add a foreign key.")
@click.option("--drop-fk", multiple=True, metavar="COL", help="Drop the foreign keys of COL.")
@click.option("--unique", multiple=True, metavar="COL[,COL]", help="Add a UNIQUE constraint.")
@click.option("--check", multiple=True, metavar='"EXPR"', help="Add a CHECK constraint.")
@click.option("--column-order", metavar="A,B,...", help="Put these columns first, in order.")
@click.option("--strict/--no-strict", default=None, help="Make the table STRICT, or not.")
@click.option("--without-rowid", is_flag=True, help="Make it a WITHOUT ROWID table.")
@click.option("--name", "description", metavar="NAME", help="Migration name [recreate_TABLE].")
@click.option("--from-live", is_flag=True, help="Take the definition from the live database.")
@click.option("--dry-run", is_flag=True, help="Print both files; write nothing.")
@click.option("-s", "--sequential", is_flag=True, help="Use the next 4-digit sequential version.")
@click.option("-t", "--timestamp", is_flag=True, help="Use a UTC timestamp version.")
@click.option("--source", metavar="DIR", help="Migrations folder [default: migrations/].")
@click.option("--database-url", "-D", metavar="URL", help="Database URL [default: DATABASE_URL].")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Append a log to this file.")
def recreate(
    table: str,
    description: str | None,
    from_live: bool,
    dry_run: bool,
    sequential: bool,
    timestamp: bool,
    source: str | None,
    database_url: str | None,
    log_file: str | None,
    **options: object,
) -> None:
    """Write a migration pair that recreates SQLite table TABLE with a changed definition.

    SQLite's ALTER TABLE cannot change a type, a constraint, a default or the primary
    key: the up file does it by SQLite's 12-step table recreation, keeping the rows,
    indexes, triggers, views and AUTOINCREMENT counter; the down file goes back.

    \b
    Example:
        dbinspect migrate recreate users --type age=INTEGER --not-null email
    """
    from dbinspect.config import resolve_settings
    from dbinspect.migrate.authoring import new_reversible_pair, write_reversible_pair

    configure_logging(log_file)
    changes = changes_from_options(options)
    if changes.is_empty():
        raise click.UsageError("nothing to change: pass an option such as --type COL=TYPE")
    settings = resolve_settings(database_url=database_url, source=source)
    url = settings.url
    if url is not None and url.backend != "sqlite":
        raise ConfigError(
            "migrate recreate works on SQLite only", "SQLite cannot ALTER what it does"
        )
    if from_live and url is None:
        raise ConfigError("--from-live needs a database", "pass --database-url URL")
    folder = settings.migrations.path
    with cleanup_on_interrupt():
        from dbinspect import event_loop
        from dbinspect.ops.recreate import definition, generate

        schema, origin = event_loop.run(definition(settings, table, from_live=from_live))
        generated = generate(schema, table, changes, source=origin)
        up, down = new_reversible_pair(
            folder,
            description or default_description(generated.table),
            timestamp=timestamp,
            sequential=sequential,
            settings=settings.sqlx,
        )
        for warning in generated.warnings:
            say(f"warning: the change loses data: {warning}", err=True)
        if dry_run:
            write_document(f"-- {up}\n{generated.up}\n-- {down}\n{generated.down}")
            return
        for path in write_reversible_pair(up, down, generated.up, generated.down):
            say(f"Creating {path}")
