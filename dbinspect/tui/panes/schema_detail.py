"""Renders one schema object's columns, keys, indexes, triggers and CREATE SQL."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dbinspect.models import Schema, SchemaObject
from dbinspect.tui.panes.common import heading
from dbinspect.tui.sanitize import escape_controls, safe_text


def _table(*headers: str) -> Table:
    table = Table(box=None, show_edge=False, padding=(0, 1), header_style="bold")
    for header in headers:
        table.add_column(header)
    return table


def _names(values: tuple[str | None, ...]) -> Text:
    return safe_text(", ".join("(pk)" if v is None else v for v in values))


def render_object(schema: Schema, obj: SchemaObject) -> RenderableType:
    """Everything known about `obj`, as a Rich renderable with every name escaped."""
    parts: list[RenderableType] = []
    title = Text(f"{obj.kind} ", style="bold")
    title.append_text(safe_text(obj.name, style="bold cyan"))
    if obj.kind in ("index", "trigger"):
        title.append(" on ")
        title.append_text(safe_text(obj.table, style="cyan"))
    flags = [f for f, on in (("WITHOUT ROWID", obj.without_rowid), ("STRICT", obj.strict)) if on]
    if flags:
        title.append("  " + " ".join(flags), style="yellow")
    parts.append(title)
    if obj.error:
        parts.append(Text("cannot read details: ", style="red") + safe_text(obj.error))

    if obj.columns:
        columns = _table("Column", "Type", "Not null", "Default", "PK", "Generated")
        for col in obj.columns:
            extra = col.generated or ("hidden" if col.hidden == 1 else "")
            columns.add_row(
                safe_text(col.name),
                safe_text(col.type),
                "yes" if col.not_null else "",
                safe_text(col.default) if col.default is not None else Text(""),
                str(col.pk) if col.pk else "",
                extra,
            )
        parts += [Text(""), heading(f"Columns ({len(obj.columns)})"), columns]

    if obj.kind in ("table", "virtual table"):
        outgoing = _table("Columns", "References", "On update", "On delete")
        for fk in obj.foreign_keys:
            target = safe_text(fk.ref_table) + Text("(") + _names(fk.ref_columns) + Text(")")
            outgoing.add_row(_names(fk.columns), target, fk.on_update, fk.on_delete)
        incoming = _table("Table", "Columns", "References")
        for fk in schema.referencing(obj.name):
            incoming.add_row(safe_text(fk.table), _names(fk.columns), _names(fk.ref_columns))
        parts += [Text(""), heading(f"Foreign keys ({len(obj.foreign_keys)})")]
        parts.append(outgoing if obj.foreign_keys else Text("none", style="dim"))
        referencing = schema.referencing(obj.name)
        parts += [Text(""), heading(f"Referenced by ({len(referencing)})")]
        parts.append(incoming if referencing else Text("none", style="dim"))

    indexes = obj.indexes
    if obj.kind == "index":
        owner = schema.get(obj.table)
        indexes = tuple(ix for ix in (owner.indexes if owner else ()) if ix.name == obj.name)
    if indexes or obj.kind == "table":
        table = _table("Index", "Unique", "Columns", "Origin", "Where")
        for ix in indexes:
            table.add_row(
                safe_text(ix.name),
                "yes" if ix.unique else "",
                _names(ix.columns),
                ix.origin,
                safe_text(ix.where) if ix.where else Text(""),
            )
        parts += [Text(""), heading(f"Indexes ({len(indexes)})")]
        parts.append(table if indexes else Text("none", style="dim"))

    if obj.kind in ("table", "view"):
        triggers = schema.belonging_to(obj.name, "trigger")
        parts += [Text(""), heading(f"Triggers ({len(triggers)})")]
        parts.append(
            safe_text(", ".join(t.name for t in triggers))
            if triggers
            else Text("none", style="dim")
        )

    parts += [Text(""), heading("SQL")]
    if obj.sql:
        from rich.syntax import Syntax  # Pygments loads when SQL is first shown.

        parts.append(
            Syntax(
                escape_controls(obj.sql, keep="\n\t"),
                "sql",
                theme="monokai",
                word_wrap=True,
                background_color="default",
            )
        )
    else:
        parts.append(Text("created automatically by SQLite (no SQL)", style="dim"))
    return Group(*parts)
