"""SVG screenshots of the Query pane (key 7) on the demo database, kept in screenshots/.

Regenerate with `pytest tests/tui/test_query_snapshots.py --snapshot-update` and review
the diff. The run's elapsed time, the one figure that moves, is blanked out.
"""

from __future__ import annotations

import re
from pathlib import Path

from syrupy.assertion import SnapshotAssertion

from tui.helpers import SIZE, OpenApp, screen_text, settle
from tui.query_kit import completions, finished, grid_rows, open_query, write

TOP_PROJECTS = """\
-- the projects with the most code generations
select p.name, u.display_name as owner, p.language,
       count(g.id) as generations
from projects p
join users u on u.id = p.owner_id
left join code_generations g on g.project_id = p.id
group by p.id
order by generations desc, p.name;
"""
ELAPSED = re.compile(r"\d+\.\d\d(&#160;s)")


def steady(svg: str) -> str:
    """The screenshot with the run's elapsed time (`0.01 s`) blanked out."""
    return ELAPSED.sub(r"…\1", svg)


async def test_query_result(
    demo_db: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion
) -> None:
    async with (
        open_app(demo_db, path_label="demo.db") as app,
        app.run_test(size=SIZE) as pilot,
    ):
        pane = await open_query(pilot, app)
        write(pane, TOP_PROJECTS)
        pane.editor.move_cursor((2, 0))
        await pilot.press("ctrl+j")
        await finished(pilot, pane)
        await pilot.press("escape")  # to the rows
        await settle(pilot)
        assert pane.results.grid.has_focus
        assert grid_rows(pane)[0][0].startswith("project-")
        assert re.search(r"statement 1: .*: \d+\.\d\d s", screen_text(app))
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        assert steady(app.export_screenshot()) == svg_snapshot


async def test_query_completion(
    demo_db: Path, open_app: OpenApp, svg_snapshot: SnapshotAssertion
) -> None:
    async with (
        open_app(demo_db, path_label="demo.db") as app,
        app.run_test(size=SIZE) as pilot,
    ):
        pane = await open_query(pilot, app)
        pane.editor.cursor_blink = False  # the cursor stays shown, whenever the shot is taken
        write(pane, "select p.\nfrom projects p\nwhere p.archived = 0;")
        pane.editor.move_cursor((0, 9))
        await pilot.press("tab")
        await settle(pilot)
        assert completions(pane) == [
            "archived", "created_at", "id", "language", "name", "owner_id", "updated_at",
            "workspace_id",
        ]  # fmt: skip
        await pilot.press("down", "down", "down", "down")  # on `name`
        assert "No result yet: write a statement above, then ctrl+j runs it" in screen_text(app)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        assert app.export_screenshot() == svg_snapshot
