"""Fixtures of the PostgreSQL tests (`pg_url` comes from the top-level conftest)."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from tui.conftest import ScreenshotExtension


@pytest.fixture
def svg_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """`assert app.export_screenshot() == svg_snapshot`, stored under screenshots/."""
    return snapshot.use_extension(ScreenshotExtension)
