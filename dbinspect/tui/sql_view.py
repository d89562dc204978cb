"""Highlights SQL in the app's theme: the Schema pane, the Migrations pane, a run's confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.text import Text

from dbinspect.tui.sanitize import escape_controls

if TYPE_CHECKING:
    from rich.syntax import Syntax, SyntaxTheme
    from textual.app import App

__all__ = ["SqlText", "sql_block", "sql_theme"]

DARK_THEME = "monokai"
"""Pygments' monokai: every token is light enough for dark backgrounds."""
LIGHT_COLOURS: dict[tuple[str, ...], str] = {
    # Tokens not listed (names, punctuation, operators) take the theme's own foreground.
    ("Keyword",): "bold #0b4f9e",
    ("Name", "Builtin"): "#005f5f",
    ("Literal", "String"): "#8a3b00",
    ("Literal", "Number"): "#6a2c91",
    ("Comment",): "italic #4d5d4d",
    ("Error",): "#a0005a",
}
"""Colours for light backgrounds: no Pygments style reaches a 4.5 contrast ratio on them."""

_themes: dict[bool, SyntaxTheme] = {}


def sql_theme(*, dark: bool) -> SyntaxTheme:
    """The highlighting theme for a dark or a light background."""
    if dark not in _themes:
        from rich.style import Style
        from rich.syntax import ANSISyntaxTheme, PygmentsSyntaxTheme

        _themes[dark] = (
            PygmentsSyntaxTheme(DARK_THEME)
            if dark
            else ANSISyntaxTheme({key: Style.parse(s) for key, s in LIGHT_COLOURS.items()})
        )
    return _themes[dark]


class SqlText:
    """SQL highlighted for the theme of the app that draws it.

    The app's theme is looked up at each render, so switching themes recolours every SQL
    block already on screen without its pane building it again. Without an app (printed
    by a test or the command line) it is coloured for a dark background.
    """

    def __init__(self, sql: str, *, app: App[Any] | None = None) -> None:
        self.sql = escape_controls(sql, keep="\n\t").rstrip() or "-- empty"
        self.app = app

    def syntax(self) -> Syntax:
        """The highlighted code, for the app's theme now."""
        from rich.syntax import Syntax  # Pygments loads when SQL is first shown.

        dark = True if self.app is None else self.app.current_theme.dark
        return Syntax(
            self.sql, "sql", theme=sql_theme(dark=dark), word_wrap=True, background_color="default"
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.syntax()

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.syntax())


def sql_block(title: str, sql: str | None, *, app: App[Any] | None = None) -> RenderableType:
    """A heading and SQL highlighted for `app`'s theme (or a note that there is none).

    The heading names a file, so it is escaped like every other file name on screen.
    """
    heading = Text(escape_controls(title), style="bold underline")
    if sql is None:
        return Group(heading, Text("none (irreversible)", style="dim"), Text(""))
    return Group(heading, SqlText(sql, app=app), Text(""))
