"""Provides `PaneCommands`: palette entries that call one pane's actions.

The Data pane and the Query pane each list their actions as `(name, action, help)`; this
finds the pane and offers them, so the two providers differ only in their lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.widget import Widget


class PaneCommands(Provider):
    """Offers `COMMANDS` when `pane()` finds the pane; each runs `pane.action_<action>`."""

    COMMANDS: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    def pane(self) -> Widget | None:
        """The pane the commands act on, or None when it is not there."""
        raise NotImplementedError

    def runner(self, pane: Widget, action: str) -> Callable[[], object]:
        """What choosing `action` does."""

        def run() -> object:
            return getattr(pane, f"action_{action}")()

        return run

    async def discover(self) -> Hits:
        pane = self.pane()
        if pane is None:
            return
        for name, action, help_text in self.COMMANDS:
            yield DiscoveryHit(name, self.runner(pane, action), help=help_text)

    async def search(self, query: str) -> Hits:
        pane = self.pane()
        if pane is None:
            return
        matcher = self.matcher(query)
        for name, action, help_text in self.COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self.runner(pane, action), help=help_text)
