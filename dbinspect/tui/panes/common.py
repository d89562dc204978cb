"""Small rendering helpers the panes share."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text

from dbinspect.tui.sanitize import escape_controls, safe_text


def human_size(size: int) -> str:
    """`12.3 MiB`-style size."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def facts_table(rows: Iterable[tuple[str, object]]) -> Table:
    """A two-column grid of labels and (untrusted) values."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        grid.add_row(Text(label), value if isinstance(value, Text) else safe_text(value))
    return grid


def heading(text: str) -> Text:
    """A section heading; escaped, as it may name a file or an object (`up: <file name>`)."""
    return Text(escape_controls(text), style="bold underline")
