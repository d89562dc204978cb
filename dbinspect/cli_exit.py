"""Ends a command the one way the CLI promises: an exit status and at most one `error:` line.

Ctrl+C ends with `error: interrupted` and status 130 from the first import on. Until a
command opens a database there is nothing to clean up, so Ctrl+C ends the process at once
(`exit_at_once_on_interrupt`): a KeyboardInterrupt raised inside an import can surface as
another error, or be swallowed and printed as "Exception ignored". While a database is
open, Ctrl+C raises KeyboardInterrupt (`cleanup_on_interrupt`) so that connections are
closed and transactions rolled back first. Output that cannot be written (a full device,
a closed pipe) ends with one line and status 1.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from dbinspect.cli_output import OutputError, say

if TYPE_CHECKING:
    from sys import UnraisableHookArgs

__all__ = [
    "caused_by_interrupt",
    "cleanup_on_interrupt",
    "exit_at_once_on_interrupt",
    "exit_interrupted",
    "exit_on_os_error",
    "exit_on_output_error",
    "fail",
    "flush_stdout",
    "ignore_interrupts",
    "quiet_other_threads",
]


def fail(message: str, status: int = 1) -> NoReturn:
    """Print `error: <message>` (escaped) on stderr and exit with `status`."""
    try:
        say(f"error: {message}", err=True)
    except OSError:
        pass  # stderr itself is gone: the status still says what happened
    sys.exit(status)


def _exit_at_once(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"error: interrupted\n")
    os._exit(130)


def exit_at_once_on_interrupt() -> None:
    """From now on Ctrl+C ends the process at once, with `error: interrupted` and 130."""
    signal.signal(signal.SIGINT, _exit_at_once)


@contextmanager
def cleanup_on_interrupt() -> Iterator[None]:
    """Within this block Ctrl+C raises KeyboardInterrupt, so open databases are cleaned up.

    `asyncio.run` turns that into cancelling its task only under Python's default handler.
    A KeyboardInterrupt raised inside a `__del__` or a weakref callback (the import
    system runs one after an import) cannot propagate: Python would print "Exception
    ignored" and carry on as if Ctrl+C had not been pressed. Such an interrupt is kept
    instead, and raised when the block ends.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    lost: list[KeyboardInterrupt] = []
    hook = sys.unraisablehook

    def keep_interrupt(unraisable: UnraisableHookArgs) -> None:
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            lost.append(unraisable.exc_value)
        else:
            hook(unraisable)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.unraisablehook = keep_interrupt
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook
    if lost:
        raise KeyboardInterrupt


def quiet_other_threads() -> None:
    """Print nothing for errors in other threads from now on: the command was interrupted.

    A database call cancelled by Ctrl+C still finishes on its worker thread, which then
    fails to hand its result to the event loop that has closed meanwhile. That failure is
    part of stopping, not news, and would print a traceback after `error: interrupted`.
    """
    threading.excepthook = _ignore_thread_error


def _ignore_thread_error(args: threading.ExceptHookArgs) -> None:
    pass


def caused_by_interrupt(error: BaseException) -> bool:
    """Whether Ctrl+C is behind `error` (Python wraps it, e.g. while creating a class)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def ignore_interrupts() -> None:
    """Let no further Ctrl+C interrupt the process: its outcome is already decided.

    A late SIGINT would otherwise raise KeyboardInterrupt in whatever runs next, such as
    the interpreter's thread shutdown, and print a traceback after the command's result.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def exit_interrupted() -> NoReturn:
    """End a command stopped by Ctrl+C: `error: interrupted`, status 130."""
    ignore_interrupts()
    fail("interrupted", 130)


def _discard_stdout() -> None:
    """Drop what stdout still holds, so the interpreter's last flush at exit cannot fail."""
    try:
        sys.stdout.flush()
    except OSError:
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (a test's capture): nothing to drop
        pass


def exit_on_os_error(error: OSError) -> NoReturn:
    """Turn an OSError that reached the top into one `error:` line and status 1.

    A reader that went away on purpose (`| head`) gets no message, as with other tools.
    """
    _discard_stdout()
    if isinstance(error, BrokenPipeError):
        sys.exit(1)
    name = error.filename
    if name is not None and error.strerror:
        fail(f"{os.fsdecode(name) if isinstance(name, bytes) else name}: {error.strerror}")
    fail(error.strerror or str(error))


def exit_on_output_error(error: OutputError) -> NoReturn:
    """End a command whose output could not be written: one line on stderr, status 1."""
    _discard_stdout()
    if isinstance(error.error, BrokenPipeError):
        sys.exit(1)
    fail(str(error))


def flush_stdout() -> None:
    """Flush stdout before exit, so a failure to write is reported rather than ignored."""
    try:
        sys.stdout.flush()
    except OSError as error:
        exit_on_output_error(OutputError(error))
