"""Other migration tools' histories on the command line: `migrate info` and `info`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dbinspect.cli_output import say

if TYPE_CHECKING:
    from dbinspect.migrate.foreign import ForeignHistory
    from dbinspect.url import DatabaseUrl

# The readers load only in the commands that use them: `dbinspect --help` stays quick.

F = TypeVar("F", bound=Callable[..., Any])

HEADING = "Other migration tools (read-only):"


def other_source_option(func: F) -> F:
    """`--other-source DIR`: the other tool's migrations folder, for its pending files."""
    return click.option(
        "--other-source",
        metavar="DIR",
        type=click.Path(file_okay=False, path_type=Path),
        help="Another tool's migrations folder (dbmate, golang-migrate, goose, Flyway, "
        "Diesel), to list its pending files [default: DBINSPECT_OTHER_SOURCE, or the "
        "tool's own default folder].",
    )(func)


def read_for_cli(
    url: DatabaseUrl, source: Path | None, *, best_effort: bool = False
) -> list[ForeignHistory]:
    """The histories, read with Ctrl+C leaving cleanly.

    `best_effort` (for `info`, whose facts were read already): a database the readers
    cannot open has no other tools' histories, rather than failing the command.
    """
    from dbinspect.cli_exit import cleanup_on_interrupt
    from dbinspect.errors import DbInspectError
    from dbinspect.migrate.foreign import read_histories

    with cleanup_on_interrupt():
        try:
            return read_histories(url, source=source)
        except DbInspectError:
            if best_effort:
                return []
            raise


def print_histories(histories: list[ForeignHistory], *, heading: bool = True) -> None:
    """Every tool's lines, under a heading (escaped: the values are the database's)."""
    if not histories:
        return
    from dbinspect.migrate.foreign.report import history_lines

    if heading:
        say(HEADING)
    cwd = Path.cwd()
    for history in histories:
        for line in history_lines(history, cwd):
            say(line)


def summaries(histories: list[ForeignHistory]) -> str:
    """One value for `info`'s `Other migrations:` line."""
    from dbinspect.migrate.foreign.report import summary

    return "; ".join(summary(history) for history in histories) or "none"


def histories_json(histories: list[ForeignHistory]) -> list[dict[str, Any]]:
    """The histories as JSON objects (the caller escapes the document)."""
    from dbinspect.migrate.foreign.report import history_json

    return [history_json(history) for history in histories]
