"""Reverse foreign keys: the rows of other tables that point at one row, and a chooser."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from dbinspect.browse.protocol import Relation
from dbinspect.models import Filter, Schema, SchemaObject, Value
from dbinspect.tui.sanitize import safe_text


@dataclass(frozen=True, slots=True)
class Reference:
    """The rows of `table` whose foreign key holds one row's key: `filters` find them."""

    relation: Relation
    filters: tuple[Filter, ...]

    @property
    def label(self) -> Text:
        """`table (column = value, ...)`, every name and value escaped."""
        text = safe_text(str(self.relation), style="bold")
        text.append(" (")
        for index, found in enumerate(self.filters):
            if index:
                text.append(", ")
            text.append_text(safe_text(found.column))
            text.append(" = ")
            text.append_text(safe_text(found.value))
        text.append(")")
        return text


def references_to(
    schema: Schema,
    parent: SchemaObject,
    column: str,
    row: dict[str, Value],
) -> list[Reference]:
    """The foreign keys of other tables (or this one) that reference `column` of `parent`,
    each as the filter that finds the rows pointing at `row` (the row's visible cells).

    A key naming no parent columns references the parent's primary key. A key whose
    referenced values are not all in `row`, or are NULL, points from no row at this one.
    """
    primary = tuple(c.name for c in sorted((c for c in parent.columns if c.pk), key=lambda c: c.pk))
    found: list[Reference] = []
    for fk in schema.referencing(parent):
        names = primary if any(c is None for c in fk.ref_columns) else fk.ref_columns
        if column not in names or len(names) != len(fk.columns):
            continue
        values = [row.get(name) for name in names if name is not None]
        if len(values) != len(fk.columns) or any(v is None for v in values):
            continue
        filters = tuple(
            Filter(child, "equals", value) for child, value in zip(fk.columns, values, strict=True)
        )
        found.append(Reference(Relation(fk.schema, fk.table), filters))
    return found


def row_cells(columns: Sequence[str], values: Sequence[Value]) -> dict[str, Value]:
    """A row's cells by column name."""
    return dict(zip(columns, values, strict=False))


class ReferenceChooser(ModalScreen[Reference | None]):
    """Pick which referencing table to open; escape closes without opening any."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss_none", "Close")]
    DEFAULT_CSS = """
    ReferenceChooser {
        align: center middle;
        #references { width: 70%; height: auto; max-height: 80%; border: thick $primary;
                      background: $surface; }
        #references-title { padding: 0 1; background: $panel; width: 1fr; }
        #references-list { height: auto; max-height: 20; }
    }
    """

    def __init__(self, title: Text, references: Sequence[Reference]) -> None:
        super().__init__()
        self.title_text = title
        self.references = tuple(references)

    def compose(self) -> ComposeResult:
        with Vertical(id="references"):
            yield Label(self.title_text, id="references-title")
            yield OptionList(
                *(Option(reference.label) for reference in self.references),
                id="references-list",
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.references[event.option_index])

    def action_dismiss_none(self) -> None:
        """Close without following a reference."""
        self.dismiss(None)
