"""Lets `python -m dbinspect` behave exactly like the `dbinspect` command, its entry point."""

from __future__ import annotations

import gc


def run() -> None:
    """The `dbinspect` command: the CLI, with the cyclic GC off from the first import.

    A command runs once and frees everything when its process ends, so the collections
    that importing click and the migration engine would set off are wasted work (see
    `dbinspect.cli.main`, which also turns it off, and `dbinspect.tui.launch`, which
    turns it back on for the app).
    """
    gc.disable()
    from dbinspect.cli import main

    main()


if __name__ == "__main__":
    run()
