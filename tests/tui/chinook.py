"""The Chinook sample database (a music store), copied into a test's working directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
CHINOOK = (
    ROOT.parent / "shared/corpus/chinook-database/ChinookDatabase/DataSources/Chinook_Sqlite.sqlite"
)
NARROW = (80, 24)
"""The smallest terminal every pane must be usable in."""


def copy_chinook(workdir: Path) -> Path:
    """`chinook.db` in `workdir`, a writable copy of the corpus database."""
    if not CHINOOK.is_file():
        pytest.skip(f"no Chinook database at {CHINOOK}")
    path = workdir / "chinook.db"
    shutil.copyfile(CHINOOK, path)
    return path
