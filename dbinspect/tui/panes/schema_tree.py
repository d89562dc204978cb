"""Provides `SchemaTree`: every schema object grouped by kind, filled in lazily.

On PostgreSQL the kinds sit under their schema (`public` expanded, the others folded),
with the database-wide extensions beside the schemas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from dbinspect.models import DEFAULT_SCHEMA, Schema, SchemaObject
from dbinspect.tui.sanitize import escape_controls, safe_text

__all__ = ["More", "SchemaTree"]

CHUNK = 200
"""Leaves added per group at a time: a 20,000-table tree must not build 20,000 nodes."""
GROUP_TITLES: dict[str, str] = {
    "table": "Tables",
    "partitioned table": "Partitioned tables",
    "virtual table": "Virtual tables",
    "foreign table": "Foreign tables",
    "view": "Views",
    "materialized view": "Materialized views",
    "index": "Indexes",
    "trigger": "Triggers",
    "sequence": "Sequences",
    "function": "Functions",
    "type": "Types",
    "extension": "Extensions",
    "internal": "SQLite internal",
}
EXPANDED_GROUPS = ("table", "partitioned table", "view")
EXPANDED_SCHEMA = DEFAULT_SCHEMA


@dataclass(frozen=True, slots=True)
class Group:
    """A kind's group node (within `schema` on PostgreSQL), or a schema's own node."""

    key: str
    objects: tuple[SchemaObject, ...]
    schema: str | None = None

    @property
    def title(self) -> str:
        """What the node and the detail call it."""
        if self.key == "schema":  # a schema's name is the database's: escaped
            return f"Schema {escape_controls(self.schema or '')}"
        return GROUP_TITLES[self.key]


@dataclass(frozen=True, slots=True)
class More:
    """A leaf standing for the rest of a group, loaded when selected."""

    group: Group
    start: int


NodeData = Group | More | SchemaObject


class SchemaTree(Tree[NodeData]):
    """Tables, views, indexes, triggers and virtual tables, filtered by name.

    A click only moves the cursor, so the mouse can browse structures; enter or a double
    click on an object asks for it to be opened.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_cursor", "Open", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_home", "Top", show=False),
        Binding("G", "scroll_end", "Bottom", show=False),
    ]

    class OpenRequested(Message):
        """Enter or a double click on an object."""

        def __init__(self, obj: SchemaObject) -> None:
            super().__init__()
            self.obj = obj

    class Rebuilt(Message):
        """The tree was filled again and its cursor put back (maybe on the same line)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("Schema"), id=id)
        self.show_root = False
        self.guide_depth = 2
        self._schema: Schema | None = None
        self._filter = ""

    def set_schema(self, schema: Schema) -> None:
        """Show `schema`, keeping the filter and, when possible, the selected object."""
        self._schema = schema
        self._rebuild()

    def set_filter(self, text: str) -> None:
        """Show only objects whose name contains `text` (case-insensitive)."""
        self._filter = text.casefold()
        self._rebuild()

    def _matching(self) -> list[SchemaObject]:
        assert self._schema is not None
        wanted = self._filter
        return [o for o in self._schema.objects if not wanted or wanted in o.name.casefold()]

    @staticmethod
    def _by_kind(objects: list[SchemaObject], schema: str | None = None) -> list[Group]:
        grouped: dict[str, list[SchemaObject]] = {key: [] for key in GROUP_TITLES}
        for obj in objects:
            grouped["internal" if obj.internal else obj.kind].append(obj)
        return [Group(key, tuple(objs), schema) for key, objs in grouped.items() if objs]

    def _groups(self) -> list[Group]:
        """SQLite's kind groups; PostgreSQL's schemas, then its extensions."""
        assert self._schema is not None
        objects = self._matching()
        if not any(o.schema is not None for o in self._schema.objects):
            return self._by_kind(objects)
        in_schema: dict[str, list[SchemaObject]] = {}
        for obj in self._schema.objects:  # every schema, even an empty one
            if obj.kind == "schema":
                in_schema.setdefault(obj.name, [])
        database_wide = []
        for obj in objects:
            if obj.schema is None:
                if obj.kind != "schema":
                    database_wide.append(obj)
                continue
            in_schema.setdefault(obj.schema, []).append(obj)
        order = sorted(in_schema, key=lambda name: (name != EXPANDED_SCHEMA, name))
        if self._filter:
            order = [name for name in order if in_schema[name]]
        schemas = [Group("schema", tuple(in_schema[name]), name) for name in order]
        return schemas + self._by_kind(database_wide)

    def _add_group(self, parent: TreeNode[NodeData], group: Group) -> None:
        title = Text(f"{group.title} ({len(group.objects):,})", style="bold")
        node = parent.add(title, data=group, allow_expand=True)
        if group.key == "schema":
            for kind_group in self._by_kind(list(group.objects), group.schema):
                self._add_group(node, kind_group)
            if self._filter or group.schema == EXPANDED_SCHEMA:
                node.expand()
            return
        expanded_here = group.schema is None or group.schema == EXPANDED_SCHEMA
        if self._filter or (group.key in EXPANDED_GROUPS and expanded_here):
            self._add_leaves(node, group, 0)
            node.expand()

    def _rebuild(self) -> None:
        if self._schema is None:
            return
        selected = self.cursor_node.data if self.cursor_node is not None else None
        selected_name = selected.qualified_name if isinstance(selected, SchemaObject) else None
        self.clear()
        for group in self._groups():
            self._add_group(self.root, group)
        # Node lines are known only once the tree has been laid out again.
        self.call_after_refresh(self._restore_cursor, selected_name)

    def _restore_cursor(self, name: str | None) -> None:
        # The cursor may end on the line it was on, now another object: no highlight event.
        self.post_message(self.Rebuilt())
        if name is not None and self.select_object(name):
            return
        first = self._first_visible_leaf(self.root)
        if first is not None:
            self.move_cursor(first)

    def _first_visible_leaf(self, node: TreeNode[NodeData]) -> TreeNode[NodeData] | None:
        for child in node.children:
            if isinstance(child.data, SchemaObject):
                return child
            if child.is_expanded:
                found = self._first_visible_leaf(child)
                if found is not None:
                    return found
        return None

    def _add_leaves(self, node: TreeNode[NodeData], group: Group, start: int) -> None:
        for obj in group.objects[start : start + CHUNK]:
            node.add_leaf(safe_text(obj.name), data=obj)
        rest = len(group.objects) - start - CHUNK
        if rest > 0:
            node.add_leaf(
                Text(f"… {rest:,} more (enter)", style="dim italic"),
                data=More(group, start + CHUNK),
            )

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        node = event.node
        if isinstance(node.data, Group) and not node.children:
            self._add_leaves(node, node.data, 0)

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        node = event.node
        if isinstance(node.data, More) and node.parent is not None:
            more, parent = node.data, node.parent
            node.remove()
            self._add_leaves(parent, more.group, more.start)
            event.stop()

    def action_open_cursor(self) -> None:
        """Open the object under the cursor; on a group or a "more" leaf, act as a select."""
        obj = self.selected_object
        if obj is None:
            self.action_select_cursor()
        else:
            self.post_message(self.OpenRequested(obj))

    def on_click(self, event: events.Click) -> None:
        # The tree's own handler has already moved the cursor to the clicked line.
        meta = event.style.meta
        obj = self.selected_object
        if event.chain >= 2 and "line" in meta and not meta.get("toggle") and obj is not None:
            self.post_message(self.OpenRequested(obj))

    def select_object(self, name: str) -> bool:
        """Move the cursor to the object called `name` (`schema.name` on PostgreSQL)."""
        pending = list(self.root.children)
        while pending:
            node = pending.pop(0)
            data = node.data
            if isinstance(data, SchemaObject) and name in (data.qualified_name, data.name):
                if node.parent is not None and not node.parent.is_expanded:
                    node.parent.expand()
                self.move_cursor(node)
                return True
            pending.extend(node.children)
        return False

    @property
    def selected_object(self) -> SchemaObject | None:
        """The object under the cursor, if the cursor is on one."""
        node = self.cursor_node
        return node.data if node is not None and isinstance(node.data, SchemaObject) else None
