"""Provides the `dbinspect migrate` commands: add, run, revert, info and restamp."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dbinspect.cli_args import TextCommand
from dbinspect.cli_exit import cleanup_on_interrupt
from dbinspect.cli_extensions import extension_options, with_extensions
from dbinspect.cli_foreign import histories_json, other_source_option, print_histories, read_for_cli
from dbinspect.cli_output import say, write_document
from dbinspect.config import Settings, SourceFormat, resolve_settings
from dbinspect.errors import ConfigError, MigrationError
from dbinspect.logs import configure_logging
from dbinspect.migrate.authoring import add_migration
from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker
from dbinspect.migrate.migrator import baseline_refusal
from dbinspect.migrate.records import MigrationEvent, MigrationResult, MigrationStatus
from dbinspect.migrate.runner import (
    baseline_migrations,
    baseline_plan,
    invalid_indexes,
    migration_status,
    refuse_dbmate_restamp,
    restamp_migration,
    revert_migrations,
    run_migrations,
    uses_dbmate,
)
from dbinspect.url import DatabaseUrl

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def run_interruptibly(work: Callable[[Cancellation], T]) -> T:
    """Run `work` on a worker thread so that Ctrl+C can stop it cleanly.

    A statement running on the main thread would hold Ctrl+C back until it ends. Here
    the main thread waits, and on Ctrl+C interrupts the statement, waits for the
    rollback (a second Ctrl+C does not cut it short) and raises KeyboardInterrupt, or
    the worker's own error if it failed for another reason.
    """
    with cleanup_on_interrupt():
        return _run_on_worker(work)


def _run_on_worker(work: Callable[[Cancellation], T]) -> T:
    cancellation = Cancellation()
    outcome: list[tuple[bool, Any]] = []
    finished = threading.Event()

    def target() -> None:
        try:
            outcome.append((True, work(cancellation)))
        except BaseException as error:  # re-raised on the main thread below
            outcome.append((False, error))
        finally:
            finished.set()

    # An Event, not Thread.join: a join cut short by Ctrl+C marks the thread as stopped
    # while it still runs, and the daemon thread would die mid-rollback at exit.
    threading.Thread(target=target, name="dbinspect-migrate", daemon=True).start()
    interrupted = False
    while not finished.is_set():
        try:
            finished.wait()
        except KeyboardInterrupt:
            interrupted = True
            cancellation.cancel()
    done, value = outcome[0]
    if not done and not isinstance(value, CancelledInWorker):
        raise value
    if interrupted or not done:
        raise KeyboardInterrupt
    return value  # type: ignore[no-any-return]


def format_duration(ns: int) -> str:
    """A duration the way Rust's `Duration` Debug prints it (sqlx-cli's output)."""
    for unit, size in (("s", 10**9), ("ms", 10**6), ("µs", 10**3)):
        if ns >= size:
            text = f"{ns / size:.9f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return f"{ns}ns"


def source_option(func: F) -> F:
    """`--source DIR`: the migrations folder (default `migrations/` or sqlx.toml's)."""
    return click.option(
        "--source",
        metavar="DIR",
        help="Migrations folder [default: migrations/, or migrations-dir in sqlx.toml].",
    )(func)


def database_options(func: F) -> F:
    """`--database-url`, `--source` and `--log-file`, for the commands that open the database."""
    func = click.option(
        "--log-file", type=click.Path(dir_okay=False), help="Append a log to this file."
    )(func)
    func = click.option(
        "--source-format",
        type=click.Choice(["auto", "sqlx", "dbmate"]),
        default="auto",
        show_default=True,
        help="The folder's format; auto reads a folder whose files hold `-- migrate:up` "
        "as dbmate's.",
    )(func)
    func = click.option(
        "--database-url",
        "-D",
        metavar="URL",
        help="Database URL [default: DATABASE_URL from the environment or .env].",
    )(func)
    return source_option(extension_options(func))


def database_argument(func: F) -> F:
    """`[DATABASE]`, as `dbinspect info` takes it; it wins over `--database-url`.

    Applied below a command's other arguments, so that `restamp VERSION [DATABASE]`
    keeps VERSION first.
    """
    return click.argument("database", required=False, metavar="[DATABASE]")(func)


def _settings(
    database: str | None,
    database_url: str | None,
    source: str | None,
    log_file: str | None,
    *,
    announce: bool = True,
    source_format: SourceFormat = "auto",
) -> tuple[Settings, DatabaseUrl]:
    """Resolve the command's settings; `announce` prints each extension a write loads."""
    configure_logging(log_file)
    settings = with_extensions(
        resolve_settings(database=database, database_url=database_url, source=source),
        announce=announce,
    )
    settings = settings._replace(sqlx=settings.sqlx._replace(source_format=source_format))
    if settings.url is None:
        raise ConfigError(
            "no database given",
            "pass DATABASE or --database-url URL, or set DATABASE_URL (environment or .env)",
        )
    return settings, settings.url


def _print_result(result: MigrationResult, verb: str) -> None:
    label = "revert" if result.direction == "down" else "migrate"
    say(
        f"{verb} {result.version}/{label} {result.description} "
        f"({format_duration(result.duration_ns)})"
    )


def _print_skipped(status: MigrationStatus, label: str) -> None:
    say(f"Skipped {status.version}/{label} {status.description} ({format_duration(0)})")


def _print_warning(event: MigrationEvent) -> None:
    if event.kind == "warning" and event.message:
        say(f"warning: {event.message}", err=True)


# Subcommands in their own modules, imported when used: name -> (module, attribute, help).
_LAZY_SUBCOMMANDS = {
    "recreate": (
        "dbinspect.cli_recreate",
        "recreate",
        "Write a migration pair that recreates a SQLite table with a changed definition.",
    ),
}


class _MigrateGroup(click.Group):
    """The `migrate` group; loads the modules of its larger subcommands on first use."""

    command_class = TextCommand  # every command refuses an argument that is not UTF-8

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_LAZY_SUBCOMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _LAZY_SUBCOMMANDS:
            from importlib import import_module

            module, attribute, _ = _LAZY_SUBCOMMANDS[cmd_name]
            self.add_command(getattr(import_module(module), attribute), cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=_MigrateGroup)
def migrate() -> None:
    """Create, apply, revert and inspect sqlx-compatible migrations.

    \b
    Example:
        dbinspect migrate add -r create_users
        dbinspect migrate run sqlite:app.db
    """


@migrate.command()
@source_option
@click.option(
    "-r", "--reversible", is_flag=True, default=None, help="Create .up.sql and .down.sql."
)
@click.option("-s", "--sequential", is_flag=True, help="Use the next 4-digit sequential version.")
@click.option("-t", "--timestamp", is_flag=True, help="Use a UTC timestamp version.")
@click.argument("name")
def add(
    source: str | None, reversible: bool | None, sequential: bool, timestamp: bool, name: str
) -> None:
    """Create a new migration file named NAME, versioned as sqlx does.

    \b
    Example:
        dbinspect migrate add -r add_users_table
    """
    settings = resolve_settings(source=source)
    for path in add_migration(
        settings.migrations.path,
        name,
        reversible=reversible,
        timestamp=timestamp,
        sequential=sequential,
        settings=settings.sqlx,
    ):
        say(f"Creating {path}")


@migrate.command()
@database_options
@click.option("--target-version", type=int, metavar="V", help="Apply up to this version.")
@click.option("--dry-run", is_flag=True, help="List what would be applied; change nothing.")
@click.option("--ignore-missing", is_flag=True, help="Allow applied versions with no file.")
@database_argument
def run(
    database_url: str | None,
    source: str | None,
    log_file: str | None,
    source_format: SourceFormat,
    target_version: int | None,
    dry_run: bool,
    ignore_missing: bool,
    database: str | None,
) -> None:
    """Apply pending migrations, each in its own transaction.

    \b
    Example:
        dbinspect migrate run sqlite:app.db
    """
    settings, url = _settings(database, database_url, source, log_file, source_format=source_format)

    def report(event: MigrationEvent) -> None:
        _print_warning(event)
        if event.kind == "finished":
            result = MigrationResult(
                event.version, event.description, "up", event.duration_ns or 0, ()
            )
            _print_result(result, "Applied")

    results = run_interruptibly(
        lambda cancellation: run_migrations(
            url,
            settings.migrations.path,
            settings.sqlx,
            target_version=target_version,
            dry_run=dry_run,
            ignore_missing=ignore_missing,
            on_event=report,
            cancellation=cancellation,
        )
    )
    if dry_run:
        for result in results:
            for warning in result.warnings:
                say(f"warning: {warning}", err=True)
            _print_result(result, "Can apply")
    if target_version is not None:
        # sqlx-cli names each pending migration above the target as skipped.
        with cleanup_on_interrupt():
            statuses = migration_status(url, settings.migrations.path, settings.sqlx)
        for status in statuses:
            if status.status == "pending" and status.version > target_version:
                _print_skipped(status, "migrate")


@migrate.command()
@database_options
@click.option("--target-version", type=int, metavar="V", help="Revert down to V (0: all).")
@click.option("--dry-run", is_flag=True, help="List what would be reverted; change nothing.")
@database_argument
def revert(
    database_url: str | None,
    source: str | None,
    log_file: str | None,
    source_format: SourceFormat,
    target_version: int | None,
    dry_run: bool,
    database: str | None,
) -> None:
    """Revert the latest applied migration, or every one above --target-version.

    \b
    Example:
        dbinspect migrate revert --target-version 0 sqlite:app.db
    """
    settings, url = _settings(database, database_url, source, log_file, source_format=source_format)
    results = run_interruptibly(
        lambda cancellation: revert_migrations(
            url,
            settings.migrations.path,
            settings.sqlx,
            target_version=target_version,
            dry_run=dry_run,
            on_event=_print_warning,
            cancellation=cancellation,
        )
    )
    for result in results:
        _print_result(result, "Can apply" if dry_run else "Applied")
    skipped: list[MigrationStatus] = []
    if target_version is not None:
        # sqlx-cli names each reversible migration it leaves applied as skipped.
        with cleanup_on_interrupt():
            statuses = migration_status(url, settings.migrations.path, settings.sqlx)
        skipped = [
            s
            for s in reversed(statuses)
            if s.status in ("applied", "modified")
            and s.migration is not None
            and s.migration.kind == "reversible"
            and s.version <= target_version
            and s.version not in {r.version for r in results}
        ]
        for status in skipped:
            _print_skipped(status, "revert")
    if not results and not skipped:
        say("No migrations available to revert")


def _status_json(status: MigrationStatus) -> dict[str, Any]:
    migration, applied = status.migration, status.applied
    return {
        "version": status.version,
        "description": status.description,
        "status": status.status,
        "kind": migration.kind if migration else None,
        "no_transaction": migration.no_transaction if migration else None,
        "path": str(migration.path) if migration else None,
        "checksum": migration.checksum.hex() if migration else None,
        "applied_checksum": applied.checksum.hex() if applied else None,
        "installed_on": applied.installed_on if applied else None,
        "execution_time_ns": applied.execution_time if applied else None,
    }


def status_lines(statuses: list[MigrationStatus]) -> list[str]:
    """`migrate info` lines in sqlx-cli's format, plus missing and failed rows."""
    lines = []
    for s in statuses:
        if s.status == "modified" and s.applied and s.migration:
            lines.append(f"{s.version}/installed (different checksum) {s.description}")
            lines.append(f"applied migration had checksum {s.applied.checksum.hex()}")
            lines.append(f"local migration has checksum {s.migration.checksum.hex()}")
        elif s.status == "applied":
            lines.append(f"{s.version}/installed {s.description}")
        elif s.status == "pending":
            lines.append(f"{s.version}/pending {s.description}")
        elif s.status == "missing":
            lines.append(f"{s.version}/installed (missing file) {s.description}")
        else:
            lines.append(f"{s.version}/failed (dirty) {s.description}")
    return lines


@migrate.command()
@database_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array for scripts.")
@other_source_option
@click.option(
    "--other-tools",
    is_flag=True,
    help="Show only other tools' tracking tables (Alembic, Flyway, ...); no folder needed.",
)
@database_argument
def info(
    database_url: str | None,
    source: str | None,
    log_file: str | None,
    source_format: SourceFormat,
    as_json: bool,
    other_source: Path | None,
    other_tools: bool,
    database: str | None,
) -> None:
    """List every migration and whether it is applied; changes nothing.

    Other tools' tracking tables found in the database follow, read-only.

    \b
    Example:
        dbinspect migrate info --json sqlite:app.db
    """
    # Reading the status loads no extension (see runner.migration_status).
    settings, url = _settings(
        database, database_url, source, log_file, announce=False, source_format=source_format
    )
    others = read_for_cli(url, other_source)
    if uses_dbmate(settings.migrations.path, settings.sqlx):
        others = [h for h in others if h.tool != "dbmate"]  # shown as the folder's statuses
    if other_tools or (others and not settings.migrations.path.exists()):
        # No sqlx folder: the other tools' histories are what there is to show.
        if as_json:
            import json

            from dbinspect.textsafe import escape_json

            document = json.dumps(histories_json(others), indent=2)
            write_document(escape_json(document) + "\n")
        elif not others:
            say("No other migration tool's tracking table found")
        else:
            print_histories(others, heading=False)
        return
    with cleanup_on_interrupt():
        statuses = migration_status(url, settings.migrations.path, settings.sqlx)
        invalid = invalid_indexes(url)
    for index in invalid:  # on stderr, so that the lines (and the JSON) stay sqlx-cli's
        say(f"warning: {index.warning()}", err=True)
    if uses_dbmate(settings.migrations.path, settings.sqlx):
        from dbinspect.migrate.dbmate import NOTE

        say(f"note: dbmate folder: {NOTE}", err=True)
    if as_json:
        import json  # only this command prints JSON; the others start without it

        from dbinspect.textsafe import escape_json

        document = json.dumps([_status_json(s) for s in statuses], indent=2)
        write_document(escape_json(document) + "\n")
        return
    for line in status_lines(statuses):
        say(line)
    print_histories(others)


@migrate.command()
@database_options
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.argument("version", type=int)
@database_argument
def restamp(
    database_url: str | None,
    source: str | None,
    log_file: str | None,
    source_format: SourceFormat,
    yes: bool,
    version: int,
    database: str | None,
) -> None:
    """Accept the current checksum of applied migration VERSION (after EOL/BOM edits).

    \b
    Example:
        dbinspect migrate restamp 20220721124650 sqlite:app.db --yes
    """
    settings, url = _settings(database, database_url, source, log_file, source_format=source_format)
    refuse_dbmate_restamp(settings.migrations.path, settings.sqlx)
    with cleanup_on_interrupt():
        statuses = migration_status(url, settings.migrations.path, settings.sqlx)
    current = next((s for s in statuses if s.version == version), None)
    if current and current.applied and current.migration:
        say(f"applied migration had checksum {current.applied.checksum.hex()}")
        say(f"local migration has checksum {current.migration.checksum.hex()}")
        if current.applied.checksum != current.migration.checksum:
            if not _only_line_endings_or_bom(current.migration.path, current.applied.checksum):
                say(
                    f"warning: {current.migration.path.name} changed in more than its line "
                    "endings or byte-order mark: restamping records the new SQL as applied "
                    "without running it",
                    err=True,
                )
            _confirm(f"Record the new checksum for {version}?", yes)
    with cleanup_on_interrupt():
        old, new = restamp_migration(url, settings.migrations.path, settings.sqlx, version)
    if old == new:
        say(f"{version}: checksum unchanged, nothing to do")
    else:
        say(f"Restamped {version}/migrate {current.description if current else ''}")


def _only_line_endings_or_bom(path: Path, applied: bytes) -> bool:
    from dbinspect.migrate.statements import explain_checksum_difference

    try:
        return explain_checksum_difference(path.read_bytes(), applied) is not None
    except OSError:
        return False


def _confirm(question: str, yes: bool) -> None:
    """Ask `question` unless `yes`; refuse at once when no one can answer it."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError(
            "confirmation needed but standard input is not a terminal; nothing was changed",
            "pass -y to confirm",
        )
    click.confirm(question, abort=True)


@migrate.command()
@database_options
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--check",
    is_flag=True,
    help="First compare the live schema with the folder replayed up to VERSION; "
    "refuse on any difference.",
)
@click.argument("version", type=int)
@database_argument
def baseline(
    database_url: str | None,
    source: str | None,
    log_file: str | None,
    source_format: SourceFormat,
    yes: bool,
    check: bool,
    version: int,
    database: str | None,
) -> None:
    """Record every migration up to VERSION as applied, without running it.

    For a database built by hand or by another tool that moves to this migrations
    folder: each row is the one sqlx writes (its checksum, success), so sqlx and
    `migrate run` then apply only the newer files. Refused when the tracking table
    already has rows.

    \b
    Example:
        dbinspect migrate baseline 20240101000000 --check sqlite:app.db
    """
    settings, url = _settings(
        database, database_url, source, log_file, announce=False, source_format=source_format
    )
    folder = settings.migrations.path
    with cleanup_on_interrupt():
        plan = baseline_plan(folder, settings.sqlx, version)
        statuses = migration_status(url, folder, settings.sqlx)
    recorded = [s for s in statuses if s.applied is not None]
    if recorded:
        raise baseline_refusal(len(recorded), settings.sqlx.table_name)
    if check:
        _check_baseline(url, settings, [m.version for m in plan], version)
    say(f"Would record as applied, without running (up to {version}):")
    for m in plan:
        say(f"  {m.version}/baseline {m.description}")
    _confirm(f"Record these {len(plan)} migration(s) as applied?", yes)
    done = run_interruptibly(
        lambda cancellation: baseline_migrations(
            url,
            folder,
            settings.sqlx,
            version,
            expected_versions=[m.version for m in plan],
            cancellation=cancellation,
        )
    )
    say(f"Baselined {len(done)} migration(s) up to {version}: recorded as applied, not run")


def _check_baseline(url: DatabaseUrl, settings: Settings, versions: list[int], at: int) -> None:
    """Refuse, listing them on stderr, when the live schema differs from the replay."""
    from dbinspect import event_loop
    from dbinspect.ops.baseline import baseline_drift, difference_lines

    with cleanup_on_interrupt():
        differences, skipped = event_loop.run(
            baseline_drift(url, settings.migrations.path, settings, versions)
        )
    for statement in skipped:
        say(
            f"note: skipped in the replay (acts outside the database): {statement.file} "
            f"{statement.statement}",
            err=True,
        )
    if not differences:
        say(f"Schema matches the migrations up to {at}")
        return
    say(f"The database differs from the migrations up to {at}:", err=True)
    for line in difference_lines(differences):
        say(line, err=True)
    raise MigrationError(
        f"the schema differs from the migrations up to {at} in {len(differences)} object(s); "
        "nothing was recorded",
        "bring the database in line (see `dbinspect check`), or baseline another version",
    )


__all__ = ["format_duration", "migrate", "status_lines"]
