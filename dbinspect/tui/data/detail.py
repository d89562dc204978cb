"""Provides `DetailScreen`: one cell in full, JSON pretty-printed, BLOBs as a hex dump."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.highlighter import JSONHighlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from dbinspect.models import CellValue, Value
from dbinspect.tui.clipboard import copy_text
from dbinspect.tui.data.format import clip_value, format_float, hex_dump, pretty_json
from dbinspect.tui.panes.common import human_size
from dbinspect.tui.sanitize import NULL_STYLE, safe_text

TEXT_LIMIT = 200_000
"""Characters laid out in the view; longer text is cut with a note (copy gives 1 MB)."""
HEX_LIMIT = 4096
"""Bytes of a BLOB shown as a hex dump."""


@dataclass(frozen=True, slots=True)
class CellDetail:
    """A cell and where it comes from."""

    table: str
    column: str
    key: tuple[Value, ...]
    cell: CellValue


def describe(detail: CellDetail) -> Text:
    """The one-line summary above the value: column, type and size."""
    cell = detail.cell
    text = safe_text(f"{detail.table}.{detail.column}", style="bold")
    text.append(f"  {cell.type}")
    if cell.type == "text":
        text.append(f", {cell.size:,} characters")
    elif cell.type == "blob":
        text.append(f", {human_size(cell.size)} ({cell.size:,} bytes)")
    return text


def body(cell: CellValue) -> Text:
    """The value laid out for reading: wrapped text, pretty JSON or a hex dump."""
    value = cell.value
    if value is None:
        return Text("NULL", style=NULL_STYLE)
    if isinstance(value, bytes):
        dump = Text(hex_dump(value, HEX_LIMIT))
        if cell.size > HEX_LIMIT:
            dump.append(f"\n… {cell.size - HEX_LIMIT:,} more bytes", style="dim")
        return dump
    if isinstance(value, float):
        return Text(format_float(value), style="cyan")
    if isinstance(value, int):
        return Text(str(value), style="cyan")
    if value == "":
        return Text("(empty string)", style="dim")
    pretty = pretty_json(value) if cell.size <= len(value) else None
    if pretty is not None:
        text = _lines(pretty[:TEXT_LIMIT])
        JSONHighlighter().highlight(text)
    else:
        text = _lines(value[:TEXT_LIMIT])
    if cell.size > TEXT_LIMIT:
        text.append(f"\n… {cell.size - TEXT_LIMIT:,} more characters", style="dim")
    return text


def _lines(value: str) -> Text:
    """Multi-line text with each line's controls escaped, line breaks kept."""
    text = Text()
    for number, line in enumerate(value.split("\n")):
        if number:
            text.append("\n")
        text.append_text(safe_text(line))
    return text


class DetailScreen(ModalScreen[None]):
    """A cell in full; `c` copies it, escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "dismiss", "Close"),
        Binding("c", "copy", "Copy"),
    ]
    DEFAULT_CSS = """
    DetailScreen {
        align: center middle;
        #detail { width: 90%; height: 85%; border: thick $primary; background: $surface; }
        #detail-title { padding: 0 1; background: $panel; width: 1fr; }
        #detail-body { padding: 0 1; }
        #detail-value { width: 1fr; }
    }
    """

    def __init__(self, detail: CellDetail) -> None:
        super().__init__()
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(id="detail"):
            yield Label(describe(self.detail), id="detail-title")
            with VerticalScroll(id="detail-body"):
                yield Static(body(self.detail.cell), id="detail-value")

    async def action_copy(self) -> None:
        """Copy the value (up to the limit it was read with)."""
        where = await copy_text(clip_value(self.detail.cell.value), self.app.copy_to_clipboard)
        self.notify(f"Copied the cell to {where}", timeout=3)
