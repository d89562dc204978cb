"""Provides the Schema pane: a filterable object tree beside the selected object's details."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static, Tree

from dbinspect.models import Schema, SchemaObject
from dbinspect.tui.panes.schema_detail import render_object
from dbinspect.tui.panes.schema_tree import NodeData, SchemaTree


class SchemaPane(Horizontal):
    """`/` filters the tree as you type; enter or `d` opens a table in the Data pane."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("d", "open_data", "Open in Data"),
    ]

    class DataRequested(Message):
        """The user asked to see a table's or view's rows."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._schema: Schema | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="schema-left"):
            yield Input(placeholder="/ filter by name", id="schema-filter")
            yield SchemaTree(id="schema-tree")
        with VerticalScroll(id="schema-detail"):
            yield Static(Text("Select an object", style="dim"), id="schema-info")

    @property
    def schema_tree(self) -> SchemaTree:
        """The object tree."""
        return self.query_one(SchemaTree)

    def show(self, schema: Schema) -> None:
        """Show a freshly read schema."""
        self._schema = schema
        self.schema_tree.set_schema(schema)
        # The tree puts its cursor back after its next refresh; show details after that.
        self.call_after_refresh(self._show_selected)

    def action_filter(self) -> None:
        """Focus the filter box."""
        self.query_one("#schema-filter", Input).focus()

    def action_open_data(self) -> None:
        """Open the selected table or view in the Data pane."""
        obj = self.schema_tree.selected_object
        if obj is not None and obj.kind in ("table", "view", "virtual table"):
            self.post_message(self.DataRequested(obj.name))

    @on(Input.Changed, "#schema-filter")
    def filter_tree(self, event: Input.Changed) -> None:
        self.schema_tree.set_filter(event.value)

    @on(Input.Submitted, "#schema-filter")
    def leave_filter(self) -> None:
        self.schema_tree.focus()

    def key_escape(self) -> None:
        if self.query_one("#schema-filter", Input).has_focus:
            self.schema_tree.focus()

    @on(Tree.NodeHighlighted)
    def show_highlighted(self, event: Tree.NodeHighlighted[NodeData]) -> None:
        self._show_selected()

    @on(Tree.NodeSelected)
    def open_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        if isinstance(event.node.data, SchemaObject):
            self.action_open_data()

    def _show_selected(self) -> None:
        obj = self.schema_tree.selected_object
        if self._schema is None or obj is None:
            return
        self.query_one("#schema-info", Static).update(render_object(self._schema, obj))
        self.query_one("#schema-detail", VerticalScroll).scroll_home(animate=False)
