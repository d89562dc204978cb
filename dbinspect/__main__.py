"""Lets `python -m dbinspect` behave exactly like the `dbinspect` command, its entry point."""

from __future__ import annotations

import sys


def run() -> None:
    """The `dbinspect` command: the CLI, with the cyclic GC off from the first import.

    A command runs once and frees everything when its process ends, so the collections
    that importing click and the migration engine would set off are wasted work (see
    `dbinspect.cli.main`, which also turns it off, and `dbinspect.tui.launch`, which
    turns it back on for the app).

    Ctrl+C ends the process at once while the CLI is imported: nothing is open yet. Every
    import, `gc` included (it is not loaded at startup), sits inside the `try`: a Ctrl+C
    landing between an import at module level and the `try` would print a traceback.
    """
    # A Ctrl+C landing in a callback the import system runs (a module lock's weakref
    # callback) cannot propagate: Python prints "Exception ignored" and goes on. Kept
    # here until the handler is in place, then it ends the process as any other.
    default_hook, swallowed = sys.unraisablehook, []
    sys.unraisablehook = lambda found: (
        swallowed.append(found.exc_value)
        if isinstance(found.exc_value, KeyboardInterrupt)
        else default_hook(found)
    )
    try:
        import gc

        gc.disable()
        from dbinspect.cli_exit import exit_at_once_on_interrupt

        exit_at_once_on_interrupt()
        sys.unraisablehook = default_hook
        if swallowed:
            raise KeyboardInterrupt
        from dbinspect.cli import main
    except BaseException as error:
        if _interrupted(error):  # Ctrl+C before the handler above was in place
            # Ended at once, as `exit_at_once_on_interrupt` ends it (nothing is open yet):
            # a KeyboardInterrupt met again while the interpreter shuts down would have
            # it kill itself by SIGINT, status -2, after this very line.
            import os
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)
            os.write(2, b"error: interrupted\n")
            os._exit(130)
        raise
    main()


def _interrupted(error: BaseException | None) -> bool:
    # Python may wrap the KeyboardInterrupt, e.g. in a RuntimeError while creating a class.
    for _ in range(8):
        if error is None or isinstance(error, KeyboardInterrupt):
            return error is not None
        error = error.__cause__ or error.__context__
    return False


if __name__ == "__main__":
    run()
