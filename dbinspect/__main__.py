"""Lets `python -m dbinspect` behave exactly like the `dbinspect` command."""

from __future__ import annotations

from dbinspect.cli import main

if __name__ == "__main__":
    main()
