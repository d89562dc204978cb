"""Fixtures for the migration tests: temp database paths and URLs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbinspect.url import DatabaseUrl, parse_url


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database file path that does not exist yet."""
    return tmp_path / "app.db"


@pytest.fixture
def db_url(db_path: Path) -> DatabaseUrl:
    """The sqlite: URL of `db_path`."""
    return parse_url(f"sqlite:{db_path}")
