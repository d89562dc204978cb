"""The day-two operations in the command palette: backup, restore, check, repair, reset.

Each palette entry opens its dialog (`screens.operation_dialogs`), which names the files
involved and runs the operation from `dbinspect.ops`, the command line's own functions,
once confirmed. They are synchronous (the SQLite driver's backup API, pg_dump, the
migration runner), so a `Job` runs one on a worker thread and carries its progress back
and its cancel request in: the operation's progress callback raises `CancelledInWorker`
once the cancel key was pressed, which stops it where the operation itself cleans up
(a backup's temporary file is removed; a restore's transaction into the live file is
rolled back). `check` takes the same request as its own `Cancellation`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urlsplit

from textual.app import SystemCommand

from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker
from dbinspect.models import Schema
from dbinspect.tui.session import Session

if TYPE_CHECKING:
    from dbinspect.ops.check_sqlite import IntegrityProgress
    from dbinspect.tui.screens.main import MainScreen

T = TypeVar("T")


class Job:
    """One operation's run on a worker thread: its progress so far and its cancel flag.

    The thread writes the progress and the screen's timer reads it (plain attributes:
    each is replaced whole, never read half-written), so the thread never waits for
    the screen.
    """

    def __init__(self) -> None:
        self.cancellation = Cancellation()
        self.done = 0
        """Bytes done so far (for `check`: SQLite's steps)."""
        self.total: int | None = None
        """The bytes there are in all, when the operation knows."""
        self.step = ""
        """What the operation does now, when it says (repair's steps)."""
        self.elapsed_s = 0.0

    @property
    def cancelled(self) -> bool:
        """Whether the cancel key was pressed."""
        return self.cancellation.event.is_set()

    def cancel(self) -> None:
        """Ask the operation to stop at its next progress report."""
        self.cancellation.cancel()

    def progress(self, done: int, total: int | None) -> None:
        """`ops.backup.Progress`: note how far it is, or stop it once cancelled.

        Not once everything is copied (`done == total`): the backup API has then
        committed its last step, and raising would report as cancelled what was done.
        """
        if self.cancelled and (total is None or done < total):
            raise CancelledInWorker
        self.done, self.total = done, total

    def integrity(self, progress: IntegrityProgress) -> None:
        """`check`'s integrity progress: SQLite's steps and the time so far."""
        self.done, self.elapsed_s = progress.steps, progress.elapsed_s

    def on_step(self, message: str) -> None:
        """`repair`'s steps: say which one starts, or stop before it once cancelled."""
        if self.cancelled:
            raise CancelledInWorker
        self.step = message


async def run_job(job: Job, work: Callable[[Job], T]) -> T:
    """Run `work(job)` on a thread of its own; cancelling the awaiting task cancels the job.

    The operations are synchronous, so the event loop would freeze on them; the thread
    is awaited, and a worker cancelled meanwhile (the dialog or the app closes) asks the
    operation to stop rather than leaving it to run on unseen.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def finish(outcome: tuple[bool, object]) -> None:
        if future.done():
            return
        ok, value = outcome
        if ok:
            future.set_result(value)  # type: ignore[arg-type]
        else:
            assert isinstance(value, BaseException)
            future.set_exception(value)

    def target() -> None:
        outcome: tuple[bool, object]
        try:
            outcome = (True, work(job))
        except BaseException as error:  # handed to the awaiting task
            outcome = (False, error)
        with contextlib.suppress(RuntimeError):  # the loop is gone: the app has closed
            loop.call_soon_threadsafe(finish, outcome)

    # Not a daemon: at exit Python waits for it, so a cancelled backup still removes
    # its temporary file and a restore still rolls back before the process ends.
    threading.Thread(target=target, name="dbinspect-operation").start()
    try:
        return await future
    except asyncio.CancelledError:
        job.cancel()
        raise


def database_name(session: Session, screen: MainScreen | None = None) -> str:
    """What the reset confirmation asks to type: the file's name, or PostgreSQL's database."""
    url = session.url
    if url.backend == "sqlite":
        return url.path.name if url.path is not None else ":memory:"
    facts = screen.facts if screen is not None else None
    if facts is not None and facts.server is not None:
        return facts.server.database
    return unquote(urlsplit(url.raw).path.lstrip("/")) or "postgres"


_CONTAINERS = ("schema", "extension")
"""Kinds left out of what a database holds: a new PostgreSQL database already has
`public` and `plpgsql`."""


def contents_line(schema: Schema | None) -> str | None:
    """What the database holds, for the restore confirmation; None when empty.

    None is also said when the schema is not read yet: the restore then checks itself.
    """
    if schema is None:
        return None
    objects = [o for o in schema.objects if not o.internal and o.kind not in _CONTAINERS]
    if not objects:
        return None
    tables = sum(o.kind == "table" for o in objects)
    others = len(objects) - tables
    rows = "its rows" if tables == 1 else "their rows"
    parts = [f"{tables} table{'' if tables == 1 else 's'} with {rows}"] if tables else []
    if others:
        parts.append(f"{others} other object{'' if others == 1 else 's'}")
    return " and ".join(parts)


def display(path: Path, cwd: Path) -> str:
    """A file as the dialogs show and take it: relative to the working folder when inside."""
    from dbinspect.tui.session import display_path

    return display_path(path, cwd)


def operation_commands(session: Session, screen: MainScreen) -> Iterable[SystemCommand]:
    """The palette's entries; restore and reset are left out when the app is read-only."""
    from dbinspect.tui.screens import operation_dialogs as dialogs

    app = screen.app
    yield SystemCommand(
        "Back up the database",
        "Copy it to a new file (mode 0600), with a progress bar; x cancels",
        lambda: app.push_screen(dialogs.BackupScreen(session)),
    )
    if not session.read_only:
        yield SystemCommand(
            "Restore from a backup file",
            "Replace the database with a backup's content (a snapshot is kept first)",
            lambda: app.push_screen(dialogs.RestoreScreen(session, screen)),
        )
    yield SystemCommand(
        "Check the database",
        "Integrity, foreign keys, migration state and drift; changes nothing",
        lambda: app.push_screen(dialogs.CheckScreen(session)),
    )
    # Repair only reads the database and writes new files beside it: offered read-only too.
    yield SystemCommand(
        "Repair into a new file",
        "SQLite: back up, then rebuild into a new file, never in place",
        lambda: app.push_screen(dialogs.RepairScreen(session)),
    )
    if not session.read_only:
        yield SystemCommand(
            "Reset the database",
            "Back up, drop every object and apply the migrations again (type its name)",
            lambda: app.push_screen(dialogs.ResetScreen(session, screen)),
        )
