"""Provides `KeyBar`: Textual's Footer, composed again only when its keys change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyBar(Footer):
    """The keys of the focused widget, as Textual's Footer shows them.

    Textual tells the Footer twice of every focus change (when the focus moves, and once
    more after the next refresh), and the Footer builds all its keys anew each time: on
    this app's screen about 20 ms, on the way to every pane and table opened. The second
    time the keys are the same, and nothing is built.
    """

    def __init__(self) -> None:
        super().__init__()
        self._composed_for: tuple[object, ...] | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            # The active bindings name the widget that holds each: a binding moved to
            # another widget counts as a change.
            keys = tuple(screen.active_bindings.items())
            if keys == self._composed_for:
                return
            self._composed_for = keys
        super().bindings_changed(screen)
