"""Provides the Schema pane: a filterable object tree beside the selected object's details."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static, Tree

from dbinspect.browse.protocol import Relation
from dbinspect.models import RELATION_KINDS, Schema, SchemaObject
from dbinspect.tui.panes.schema_detail import (
    NOTHING_SELECTED,
    SELECT_HINT,
    natural_width,
    render_group,
    render_object,
)
from dbinspect.tui.panes.schema_tree import Group, More, NodeData, SchemaTree


class SchemaPane(Horizontal):
    """`/` filters the tree as you type; enter, `d` or a double click opens a table's rows.

    The detail follows the tree's cursor, wherever it is (an object, a group, nothing).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # A priority key is acted on as the app reads it, before the keys typed after it
        # are handed to the focused widget: so they reach the filter box.
        Binding("slash", "filter", "Filter", key_display="/", priority=True),
        Binding("d", "open_data", "Open in Data"),
        Binding("c", "recreate", "Change table", show=False),
    ]

    class DataRequested(Message):
        """The user asked to see a table's or view's rows."""

        def __init__(self, relation: Relation) -> None:
            super().__init__()
            self.relation = relation

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._schema: Schema | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="schema-left"):
            yield Input(placeholder="/ filter by name", id="schema-filter")
            yield SchemaTree(id="schema-tree")
        with VerticalScroll(id="schema-detail"):
            yield Static(SELECT_HINT, id="schema-info")

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
        """Focus the filter box at once, so keys typed right after `/` land in it."""
        box = self.query_one("#schema-filter", Input)
        if box.has_focus:
            raise SkipAction  # a `/` typed into the filter itself
        # `Widget.focus` waits in the message queue, behind keys already typed.
        self.screen.set_focus(box)

    def action_open_data(self) -> None:
        """Open the selected table or view in the Data pane."""
        obj = self.schema_tree.selected_object
        if obj is not None:
            self._open(obj)

    def action_recreate(self) -> None:
        """SQLite: open the form that writes a table-recreation migration for the table."""
        obj = self.schema_tree.selected_object
        session = getattr(self.screen, "session", None)
        if obj is None or obj.kind != "table" or session is None:
            self.notify("Select a table first.", severity="warning", markup=False)
            return
        if session.url.backend != "sqlite":
            self.notify("Recreating a table is for SQLite.", severity="warning", markup=False)
            return
        from dbinspect.tui.panes.recreate_form import RecreateForm

        def written(paths: list[Path] | None) -> None:
            if paths:
                reload = getattr(self.screen, "reload", None)
                if callable(reload):  # the Migrations pane lists the new pair
                    reload()
                names = ", ".join(p.name for p in paths)
                self.notify(
                    f"Created {names}. Apply it in the Migrations pane (a), which asks first.",
                    markup=False,
                )

        self.app.push_screen(RecreateForm(session.settings, obj.name), written)

    def _open(self, obj: SchemaObject) -> None:
        if obj.kind in RELATION_KINDS:
            self.post_message(self.DataRequested(Relation(obj.schema, obj.name)))

    @on(SchemaTree.OpenRequested)
    def _open_requested(self, event: SchemaTree.OpenRequested) -> None:
        self._open(event.obj)

    @on(Input.Changed, "#schema-filter")
    def filter_tree(self, event: Input.Changed) -> None:
        self.schema_tree.set_filter(event.value)

    @on(Input.Submitted, "#schema-filter")
    def leave_filter(self) -> None:
        self.screen.set_focus(self.schema_tree)

    def key_escape(self) -> None:
        if self.query_one("#schema-filter", Input).has_focus:
            self.screen.set_focus(self.schema_tree)

    @on(Tree.NodeHighlighted)
    def show_highlighted(self, event: Tree.NodeHighlighted[NodeData]) -> None:
        self._show_selected()

    @on(SchemaTree.Rebuilt)
    def _tree_rebuilt(self) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        if self._schema is None:
            return
        node = self.schema_tree.cursor_node
        data = node.data if node is not None else None
        if isinstance(data, SchemaObject):
            detail = render_object(self._schema, data, app=self.app)
        elif isinstance(data, Group | More):
            group = data if isinstance(data, Group) else data.group
            detail = render_group(group.title, len(group.objects))
        elif self.schema_tree.root.children:
            detail = SELECT_HINT
        else:
            detail = NOTHING_SELECTED
        info = self.query_one("#schema-info", Static)
        # Wider than the pane when a table needs it: the detail then scrolls sideways.
        info.styles.min_width = natural_width(detail, self.app.console)
        info.update(detail)
        self.query_one("#schema-detail", VerticalScroll).scroll_home(animate=False)
