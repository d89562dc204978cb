"""Renders one schema object's columns, keys, indexes, triggers and CREATE SQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from dbinspect.models import (
    DEFAULT_SCHEMA,
    RELATION_KINDS,
    ColumnInfo,
    Detail,
    IndexInfo,
    Schema,
    SchemaObject,
)
from dbinspect.tui.panes.common import heading, human_size
from dbinspect.tui.sanitize import safe_text
from dbinspect.tui.sql_view import SqlText

if TYPE_CHECKING:
    from textual.app import App

EXPRESSION_WIDTH = 30
"""Defaults, generated columns and index conditions wrap at this width, so a long
expression never pushes the short columns out of view."""
WIDEST_DETAIL = 400
"""A name thousands of characters long is cut here rather than widening every line drawn."""
EXPRESSIONS = frozenset({"Default", "Generated", "Where", "Definition", "Comment"})


def _table(*headers: str) -> Table:
    table = Table(box=None, show_edge=False, padding=(0, 1), header_style="bold")
    for header in headers:
        if header in EXPRESSIONS:
            table.add_column(header, max_width=EXPRESSION_WIDTH, overflow="fold")
        else:
            table.add_column(header, no_wrap=True)
    return table


def _names(values: tuple[str | None, ...]) -> Text:
    return safe_text(", ".join("(pk)" if v is None else v for v in values))


def _columns_table(obj: SchemaObject) -> Table:
    """One row per column; Default and Generated only when some column has one.

    Empty columns would take the width that names and types need on a narrow terminal;
    the expressions come last, after the short columns.
    """
    defaults = [col.default for col in obj.columns]
    extras = [_generated(col) for col in obj.columns]
    with_default = any(default is not None for default in defaults)
    with_extra = any(extras)
    with_collation = any(col.collation for col in obj.columns)
    with_comment = any(col.comment for col in obj.columns)
    headers = ["Column", "Type", "Not null", "PK"]
    headers += ["Collation"] if with_collation else []
    headers += ["Default"] if with_default else []
    headers += ["Generated"] if with_extra else []
    headers += ["Comment"] if with_comment else []
    table = _table(*headers)
    for col, default, extra in zip(obj.columns, defaults, extras, strict=True):
        cells: list[RenderableType] = [
            safe_text(col.name),
            safe_text(col.type),
            "yes" if col.not_null else "",
            str(col.pk) if col.pk else "",
        ]
        if with_collation:
            cells.append(safe_text(col.collation or ""))
        if with_default:
            cells.append(safe_text(default) if default is not None else Text(""))
        if with_extra:
            cells.append(safe_text(extra))
        if with_comment:
            cells.append(safe_text(col.comment or ""))
        table.add_row(*cells)
    return table


def _generated(col: ColumnInfo) -> str:
    """How the engine fills the column in: identity, a generated expression, hidden."""
    if col.identity:
        return f"identity ({col.identity})"
    if col.generated and col.expression:
        return f"{col.generated}: {col.expression}"
    return col.generated or ("hidden" if col.hidden == 1 else "")


def _qualified(schema: str | None, name: str) -> str:
    return name if schema is None or schema == DEFAULT_SCHEMA else f"{schema}.{name}"


def _detail_value(value: Detail) -> str:
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def natural_width(detail: RenderableType, console: Console) -> int:
    """The width at which every table in `detail` shows each cell whole, on one line."""
    parts = detail.renderables if isinstance(detail, Group) else [detail]
    unbounded = console.options.update_width(10_000)
    widths = [Measurement.get(console, unbounded, p).maximum for p in parts if isinstance(p, Table)]
    return min(max(widths, default=0), WIDEST_DETAIL)


def render_group(title: str, count: int) -> RenderableType:
    """What the detail shows while the cursor is on a group of objects, not on one."""
    return Group(
        Text(f"{title} ({count:,})", style="bold"),
        Text(""),
        Text("Move to an object to see its structure; enter or space folds the group.", "dim"),
    )


NOTHING_SELECTED = Text("No object matches the filter.", style="dim")
SELECT_HINT = Text("Select an object", style="dim")


def render_object(
    schema: Schema, obj: SchemaObject, *, app: App[Any] | None = None
) -> RenderableType:
    """Everything known about `obj`, as a Rich renderable with every name escaped.

    Its SQL is highlighted for `app`'s theme (see `SqlText`).
    """
    parts: list[RenderableType] = []
    title = Text(f"{obj.kind} ", style="bold")
    title.append_text(safe_text(_qualified(obj.schema, obj.name), style="bold cyan"))
    if obj.kind in ("index", "trigger"):
        title.append(" on ")
        title.append_text(safe_text(_qualified(obj.schema, obj.table), style="cyan"))
    flags = [f for f, on in (("WITHOUT ROWID", obj.without_rowid), ("STRICT", obj.strict)) if on]
    if flags:
        title.append("  " + " ".join(flags), style="yellow")
    if not obj.valid:
        title.append("  INVALID", style="bold red")
    parts.append(title)
    if obj.error:
        parts.append(Text("cannot read details: ", style="red") + safe_text(obj.error))
    if obj.comment:
        parts.append(safe_text(obj.comment, style="italic"))
    if obj.details:
        facts = _table("", "")
        for label, value in obj.details:
            facts.add_row(Text(label, style="dim"), safe_text(_detail_value(value)))
        parts += [Text(""), facts]

    if obj.columns:
        parts += [Text(""), heading(f"Columns ({len(obj.columns)})"), _columns_table(obj)]

    if obj.kind in RELATION_KINDS and obj.kind not in ("view", "materialized view"):
        parts += _foreign_keys(schema, obj)

    if obj.constraints:
        constraints = _table("Constraint", "Kind", "Definition")
        for constraint in obj.constraints:
            constraints.add_row(
                safe_text(constraint.name), constraint.kind, safe_text(constraint.definition)
            )
        parts += [Text(""), heading(f"Constraints ({len(obj.constraints)})"), constraints]

    indexes = obj.indexes
    if obj.kind == "index":
        owner = schema.get(obj.table, obj.schema)
        indexes = tuple(ix for ix in (owner.indexes if owner else ()) if ix.name == obj.name)
    if indexes or obj.kind in ("table", "partitioned table", "materialized view"):
        parts += [Text(""), heading(f"Indexes ({len(indexes)})")]
        parts.append(_indexes_table(indexes) if indexes else Text("none", style="dim"))

    if obj.kind in ("table", "view", "partitioned table", "foreign table"):
        triggers = schema.belonging_to(obj, "trigger")
        parts += [Text(""), heading(f"Triggers ({len(triggers)})")]
        parts.append(
            safe_text(", ".join(t.name for t in triggers))
            if triggers
            else Text("none", style="dim")
        )

    parts += [Text(""), heading("SQL")]
    if obj.sql:
        parts.append(SqlText(obj.sql, app=app))
    elif obj.schema is not None or obj.kind in ("schema", "extension"):
        parts.append(Text("no SQL of its own (see `dbinspect schema`)", style="dim"))
    else:
        parts.append(Text("created automatically by SQLite (no SQL)", style="dim"))
    return Group(*parts)


def _foreign_keys(schema: Schema, obj: SchemaObject) -> list[RenderableType]:
    outgoing = _table("Columns", "References", "On update", "On delete")
    for fk in obj.foreign_keys:
        target = safe_text(_qualified(fk.ref_schema, fk.ref_table))
        target += Text("(") + _names(fk.ref_columns) + Text(")")
        outgoing.add_row(_names(fk.columns), target, fk.on_update, fk.on_delete)
    referencing = schema.referencing(obj)
    incoming = _table("Table", "Columns", "References")
    for fk in referencing:
        incoming.add_row(
            safe_text(_qualified(fk.schema, fk.table)), _names(fk.columns), _names(fk.ref_columns)
        )
    return [
        Text(""),
        heading(f"Foreign keys ({len(obj.foreign_keys)})"),
        outgoing if obj.foreign_keys else Text("none", style="dim"),
        Text(""),
        heading(f"Referenced by ({len(referencing)})"),
        incoming if referencing else Text("none", style="dim"),
    ]


def _indexes_table(indexes: tuple[IndexInfo, ...]) -> Table:
    if any(ix.definition for ix in indexes):  # PostgreSQL: its own definition says it all
        table = _table("Index", "Valid", "Size", "Definition")
        for ix in indexes:
            table.add_row(
                safe_text(ix.name),
                Text("yes") if ix.valid else Text("INVALID", style="bold red"),
                human_size(ix.size) if ix.size is not None else "",
                safe_text(ix.definition or ""),
            )
        return table
    table = _table("Index", "Unique", "Columns", "Origin", "Where")
    for ix in indexes:
        table.add_row(
            safe_text(ix.name),
            "yes" if ix.unique else "",
            _names(ix.columns),
            ix.origin,
            safe_text(ix.where) if ix.where else Text(""),
        )
    return table
