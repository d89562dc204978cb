"""Follows a Migrations pane run: its progress, its outcome in words, the statuses it left."""

from __future__ import annotations

from rich.text import Text

from dbinspect import migrate  # the engine loads on first use, after the first frame
from dbinspect.errors import DbInspectError
from dbinspect.migrate import MigrationEvent, MigrationResult
from dbinspect.tui.messages import MigrationPlan, StatusReading
from dbinspect.tui.sanitize import safe_text
from dbinspect.tui.session import Session

CANCEL_KEY = "x"
"""Cancels a run. Not `escape`: a habit after closing the confirmation must not undo it."""
BUSY = f"A migration run is in progress; press {CANCEL_KEY} to cancel it."
"""What a key that would start a migration says while one runs."""

StatusKey = tuple[tuple[tuple[int, str], ...], str | None]
"""Each version with its status, and the reading's error: what a banner is checked against."""


async def read_statuses(session: Session) -> StatusReading:
    """Every migration's status now, or the one line saying why it cannot be read."""
    folder = session.folder
    if not folder.is_dir():
        return StatusReading(None, f"no migrations folder at {session.folder_label}")
    try:
        statuses = await migrate.migration_status(session.url, folder, session.settings.sqlx)
    except DbInspectError as error:
        return StatusReading(None, error.one_line())
    return StatusReading(statuses, None)


def status_key(reading: StatusReading) -> StatusKey:
    """The part of a reading that an outcome banner describes."""
    statuses = reading.statuses or []
    return tuple((s.version, s.status) for s in statuses), reading.error


class RunTracker:
    """What a run has done so far, followed from its events as they arrive.

    The engine reports every event before its run ends, cancelled or not, so once the
    run has returned this says exactly which migrations ran to their end and which one
    was in flight (and so rolled back).
    """

    def __init__(self) -> None:
        self.done: list[MigrationEvent] = []
        self.in_flight: MigrationEvent | None = None

    def follow(self, event: MigrationEvent) -> None:
        """Take one event of the run into account."""
        if event.kind == "started":
            self.in_flight = event
        elif event.kind == "finished":
            self.done.append(event)
            self.in_flight = None


def _past(plan: MigrationPlan) -> str:
    return "applied" if plan.direction == "up" else "reverted"


def finished_summary(plan: MigrationPlan, results: list[MigrationResult]) -> str:
    """`Applied 2 migration(s): 3, 4.`"""
    versions = ", ".join(str(r.version) for r in results) or "nothing"
    return f"{_past(plan).capitalize()} {len(results)} migration(s): {versions}."


def cancelled_summary(
    plan: MigrationPlan, done: tuple[MigrationEvent, ...], rolled_back: MigrationEvent | None
) -> str:
    """What ran before the cancel, and which migration the cancel rolled back."""
    versions = ", ".join(str(e.version) for e in done) or "nothing"
    stopped = (
        f"{rolled_back.version} {rolled_back.description} was rolled back."
        if rolled_back is not None
        else "no migration was running."
    )
    return f"{plan.title} cancelled: {_past(plan)} {versions} before the cancel; {stopped}"


def progress_line(
    plan: MigrationPlan, event: MigrationEvent | None, *, cancelling: bool = False
) -> Text:
    """The line beside the progress bar: what runs now, and how to stop it."""
    if cancelling:
        doing = Text("Cancelling: rolling back ")
        doing += (
            Text(f"{event.version} ") + safe_text(event.description)
            if event is not None
            else Text("the migration in flight")
        )
        return doing + Text("…")
    verb = "Applying" if plan.direction == "up" else "Reverting"
    if event is None:
        line = Text(f"{plan.title}")
    else:
        line = Text(f"{verb} {event.version} ") + safe_text(event.description, max_chars=40)
        line += Text(f" ({event.position + 1} of {event.total})")
    return line + Text(f"; press {CANCEL_KEY} to cancel", style="bold")
