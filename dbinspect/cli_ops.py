"""Provides the day-two commands `check`, `repair` and `reset` (README: Command reference).

Each command resolves its settings, runs its operation from `dbinspect.ops` on a worker
thread (so Ctrl+C stops it cleanly, see `run_interruptibly`) and prints the outcome.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from dbinspect.cli import database_options, require_url, settings_from
from dbinspect.cli_args import TextCommand
from dbinspect.cli_migrate import run_interruptibly, source_option
from dbinspect.cli_output import say, write_document
from dbinspect.logs import configure_logging
from dbinspect.ops.check_sqlite import IntegrityProgress


class _ProgressLine:
    """One line on stderr, rewritten in place, while a long step runs on a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.shown_at = 0.0
        self.shown = False

    def __call__(self, progress: IntegrityProgress) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.shown_at < 0.25 or progress.elapsed_s < 0.5:
            return
        self.shown_at, self.shown = now, True
        steps = progress.steps / 1e6
        sys.stderr.write(
            f"\r{self.label}: {progress.elapsed_s:5.1f} s, {steps:,.0f}M steps "
            "(Ctrl+C to stop)\x1b[K"
        )
        sys.stderr.flush()

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


@click.command(cls=TextCommand)
@database_options
@source_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(
    database: str | None,
    database_url: str | None,
    log_file: str | None,
    source: str | None,
    as_json: bool,
) -> None:
    """Check integrity, migration state and drift; exit 1 when anything is wrong.

    Never changes the database: the migrations are replayed into a scratch database
    (SQLite: in memory; PostgreSQL: a temporary database, dropped afterwards).

    Example:
        dbinspect check app.db --source migrations
        dbinspect check --json postgres://app@localhost/app
    """
    from dbinspect.ops.check import report_to_json, report_to_lines, run_check

    configure_logging(log_file)
    settings = settings_from(database, database_url, source)
    url = require_url(settings)
    progress = _ProgressLine("checking integrity")
    try:
        report = run_interruptibly(
            lambda cancel: run_check(url, settings, on_progress=progress, cancellation=cancel)
        )
    finally:
        progress.clear()
    if as_json:
        from dbinspect.json_document import indented
        from dbinspect.textsafe import escape_json

        write_document(escape_json(indented(report_to_json(report))) + "\n")
    else:
        for line in report_to_lines(report):
            say(line)
    if report.problems:
        sys.exit(1)  # the report is printed; the status tells CI


@click.command(cls=TextCommand)
@database_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new file [default: <db>-repaired-<UTC timestamp>.db beside it].",
)
def repair(
    database: str | None, database_url: str | None, log_file: str | None, output: Path | None
) -> None:
    """Rebuild a SQLite database into a new file, keeping every readable row.

    Never in place: backs the file up first, then tries VACUUM INTO and REINDEX, and
    when table pages are damaged, salvages the readable rows table by table.

    Example:
        dbinspect repair app.db -o app-fixed.db
    """
    from dbinspect.ops.repair import repair_database, result_to_lines

    configure_logging(log_file)
    url = require_url(settings_from(database, database_url))
    result = run_interruptibly(lambda _cancel: repair_database(url, output, on_step=_step))
    for line in result_to_lines(result):
        say(line)
    if result.problems_after:
        sys.exit(1)


def _step(message: str) -> None:
    if sys.stderr.isatty():
        say(f"{message}...", err=True)


@click.command(cls=TextCommand)
@database_options
@source_option
@click.option("--force", is_flag=True, help="Really drop every object (a backup is taken first).")
def reset(
    database: str | None,
    database_url: str | None,
    log_file: str | None,
    source: str | None,
    force: bool,
) -> None:
    """Back up, drop every object and apply the migrations again (refused without --force).

    On PostgreSQL "every object" is what the migrations create: their schemas, public's
    objects when they create some there, their extensions, and the tracking table.

    Example:
        dbinspect reset app.db --source migrations --force
        dbinspect reset postgres://localhost/app --source migrations --force
    """
    from dbinspect.ops.reset import reset_database

    configure_logging(log_file)
    settings = settings_from(database, database_url, source)
    url = require_url(settings)
    done = run_interruptibly(lambda _cancel: reset_database(url, settings, force=force))
    say(f"backup: {done.backup}")
    say(f"dropped {len(done.dropped)} object(s): {', '.join(done.dropped) or 'none'}")
    say(f"applied {len(done.applied)} migration(s)")
