"""The key bar shows the focused pane's keys, and is built once per change of them."""

from __future__ import annotations

from pathlib import Path

from textual.widgets._footer import FooterKey

from dbinspect.tui.key_bar import KeyBar
from tui.helpers import SIZE, OpenApp, main_screen, settle


def shown_actions(bar: KeyBar) -> list[str]:
    return [key.action for key in bar.query(FooterKey)]


def expected_actions(bar: KeyBar) -> list[str]:
    """What Textual's Footer would show for the screen's bindings now: one key per action."""
    actions = [b.action for (_, b, _, _) in bar.screen.active_bindings.values() if b.show]
    return list(dict.fromkeys(actions))


async def test_the_key_bar_follows_the_focused_pane_and_builds_once_per_change(
    demo_db: Path, open_app: OpenApp
) -> None:
    async with open_app(demo_db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bar = main_screen(app).query_one(KeyBar)
        on_schema = shown_actions(bar)
        assert on_schema[:-1] == expected_actions(bar)  # (the palette key comes last)
        for key, action in (("5", "migrate('next')"), ("4", "filter"), ("3", None)):
            first_key = bar.query(FooterKey).first()
            await pilot.press(key)
            await settle(pilot)
            assert shown_actions(bar)[:-1] == expected_actions(bar)
            if action is not None:
                assert action in shown_actions(bar)
            assert bar.query(FooterKey).first() is not first_key  # built again
        assert shown_actions(bar) == on_schema
        # Told again of the same keys (Textual tells twice per focus change): nothing built.
        first_key = bar.query(FooterKey).first()
        main_screen(app).refresh_bindings()
        await settle(pilot)
        assert bar.query(FooterKey).first() is first_key
