"""SVG snapshot of the Data pane, written to screenshots/ as the committed baseline."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_textual_snapshot import SVGImageExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from tui.data_fixtures import PaneApp, build_shop, settle

ROOT = Path(__file__).resolve().parents[2]


class ScreenshotExtension(SVGImageExtension):
    """Keeps baselines in screenshots/<test module>/."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(ROOT / "screenshots" / test_location.basename)


@pytest.fixture
def data_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(ScreenshotExtension)


async def test_data_pane_snapshot(tmp_path: Path, data_snapshot: SnapshotAssertion) -> None:
    app = PaneApp(build_shop(tmp_path / "shop.db"), "orders")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.query_one("#data-grid").move_cursor(3, 2)  # type: ignore[attr-defined]
        await settle(pilot)
        assert app.export_screenshot() == data_snapshot
