"""Shows a migration file's SQL: in the Migrations pane and in a run's confirmation."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from dbinspect.tui.sanitize import escape_controls


def sql_block(title: str, sql: str | None) -> RenderableType:
    """A heading and highlighted SQL (or a note that there is none).

    The heading names a file, so it is escaped like every other file name on screen.
    """
    heading = Text(escape_controls(title), style="bold underline")
    if sql is None:
        return Group(heading, Text("none (irreversible)", style="dim"), Text(""))
    from rich.syntax import Syntax  # Pygments loads when SQL is first shown.

    code = Syntax(
        escape_controls(sql, keep="\n\t").rstrip() or "-- empty",
        "sql",
        theme="monokai",
        word_wrap=True,
        background_color="default",
    )
    return Group(heading, code, Text(""))
