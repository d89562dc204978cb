"""The form behind the Schema pane's `c` key: `migrate recreate` for one SQLite table.

It takes the same options as the command, shows the up and down files it would write,
and writes them into the migrations folder. Applying them is the Migrations pane's
usual action, with its usual confirmation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from dbinspect.config import Settings
from dbinspect.errors import DbInspectError, MigrationError
from dbinspect.migrate.recreate import Changes, default_description
from dbinspect.tui.sanitize import escape_controls, safe_text

# (field id, label, placeholder): values of several entries are separated by `;`.
FIELDS = (
    ("type", "--type", "COL=TYPE; ..."),
    ("rename", "--rename", "OLD=NEW; ..."),
    ("drop", "--drop", "COL; ..."),
    ("add", "--add", "COL TYPE [constraints]; ..."),
    ("not-null", "--not-null", "COL; ..."),
    ("nullable", "--nullable", "COL; ..."),
    ("default", "--default", "COL=EXPR; ..."),
    ("drop-default", "--drop-default", "COL; ..."),
    ("pk", "--pk", "COL[,COL]"),
    ("add-fk", "--add-fk", "COL=TABLE(COL); ..."),
    ("drop-fk", "--drop-fk", "COL; ..."),
    ("unique", "--unique", "COL[,COL]; ..."),
    ("check", "--check", "EXPR; ..."),
    ("column-order", "--column-order", "A,B,..."),
)
FLAGS = (
    ("strict", "--strict"),
    ("no-strict", "--no-strict"),
    ("without-rowid", "--without-rowid"),
    ("from-live", "--from-live"),
)


def _entries(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _pair(value: str, option: str) -> tuple[str, str]:
    name, sep, rest = value.partition("=")
    if not sep or not name.strip() or not rest.strip():
        raise MigrationError(f"{option}: expected NAME=VALUE, got {value!r}")
    return name.strip(), rest.strip()


def _names(value: str, option: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in value.split(","))
    if not all(names):
        raise MigrationError(f"{option}: expected COL[,COL...], got {value!r}")
    return names


def changes_from_form(values: dict[str, str], flags: dict[str, bool]) -> Changes:
    """The `Changes` the form's fields ask for.

    Raises:
        MigrationError: A field that does not read as its option; or nothing asked.
    """
    if flags.get("strict") and flags.get("no-strict"):
        raise MigrationError("--strict and --no-strict exclude each other")
    changes = Changes(
        types=[_pair(v, "--type") for v in _entries(values.get("type", ""))],
        renames=[_pair(v, "--rename") for v in _entries(values.get("rename", ""))],
        drops=_entries(values.get("drop", "")),
        adds=_entries(values.get("add", "")),
        not_null=_entries(values.get("not-null", "")),
        nullable=_entries(values.get("nullable", "")),
        defaults=[_pair(v, "--default") for v in _entries(values.get("default", ""))],
        drop_defaults=_entries(values.get("drop-default", "")),
        pk=_names(values["pk"], "--pk") if values.get("pk", "").strip() else None,
        add_fks=[_pair(v, "--add-fk") for v in _entries(values.get("add-fk", ""))],
        drop_fks=_entries(values.get("drop-fk", "")),
        uniques=[_names(v, "--unique") for v in _entries(values.get("unique", ""))],
        checks=_entries(values.get("check", "")),
        column_order=_names(values["column-order"], "--column-order")
        if values.get("column-order", "").strip()
        else None,
        strict=True if flags.get("strict") else False if flags.get("no-strict") else None,
        without_rowid=bool(flags.get("without-rowid")),
    )
    if changes.is_empty():
        raise MigrationError("nothing to change: fill in at least one option")
    return changes


class RecreateForm(ModalScreen[list[Path] | None]):
    """Options in, the generated up and down files shown, written on request."""

    DEFAULT_CSS = """
    RecreateForm { align: center middle; }
    RecreateForm #recreate-dialog {
        width: 95%; height: 95%; border: thick $warning; background: $surface; padding: 0 1;
    }
    RecreateForm #recreate-title { text-style: bold; }
    RecreateForm #recreate-fields { width: 50; }
    RecreateForm #recreate-fields Label { margin-top: 1; }
    RecreateForm #recreate-preview { border-left: solid $primary; padding-left: 1; }
    RecreateForm #recreate-sql { width: auto; min-width: 100%; }
    RecreateForm #recreate-buttons { height: auto; align: right middle; }
    RecreateForm Button { margin-left: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "preview", "Show SQL"),
        Binding("ctrl+s", "write", "Write files"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, settings: Settings, table: str) -> None:
        super().__init__()
        self._settings = settings
        self._table = table
        self._generated: tuple[str, str, list[str]] | None = None
        """(up, down, warnings) for the values shown when it was made."""

    def compose(self) -> ComposeResult:
        with Vertical(id="recreate-dialog"):
            title = Text("Recreate table ") + safe_text(self._table)
            yield Static(title, id="recreate-title", markup=False)
            with Horizontal():
                with VerticalScroll(id="recreate-fields"):
                    for field_id, label, placeholder in FIELDS:
                        yield Label(label)
                        yield Input(placeholder=placeholder, id=f"field-{field_id}")
                    for flag_id, label in FLAGS:
                        yield Checkbox(label, id=f"flag-{flag_id}")
                with VerticalScroll(id="recreate-preview"):
                    yield Static(
                        "Fill in the options, then Show SQL (ctrl+r).",
                        id="recreate-sql",
                        markup=False,
                    )
            with Horizontal(id="recreate-buttons"):
                yield Button("Show SQL (ctrl+r)", id="preview")
                yield Button("Write files (ctrl+s)", variant="warning", id="write")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#field-type", Input).focus()

    def _values(self) -> tuple[dict[str, str], dict[str, bool]]:
        values = {f: self.query_one(f"#field-{f}", Input).value for f, _, _ in FIELDS}
        flags = {f: self.query_one(f"#flag-{f}", Checkbox).value for f, _ in FLAGS}
        return values, flags

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._generated = None  # what is shown no longer matches the fields

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "preview":
            self.action_preview()
        elif event.button.id == "write":
            self.action_write()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        """Close the form; nothing is written."""
        self.dismiss(None)

    def action_preview(self) -> None:
        """Generate both files and show them."""
        self._generate(write=False)

    def action_write(self) -> None:
        """Write both files into the migrations folder and close the form."""
        self._generate(write=True)

    def _show(self, text: Text) -> None:
        self.query_one("#recreate-sql", Static).update(text)

    @work(exclusive=True, group="recreate")
    async def _generate(self, *, write: bool) -> None:
        from dbinspect.migrate.authoring import new_reversible_pair, write_reversible_pair
        from dbinspect.ops.recreate import definition, generate

        values, flags = self._values()
        settings = self._settings
        try:
            changes = changes_from_form(values, flags)
            schema, origin = await definition(
                settings, self._table, from_live=flags.get("from-live", False)
            )
            made = await asyncio.to_thread(generate, schema, self._table, changes, source=origin)
            up, down = new_reversible_pair(
                settings.migrations.path,
                default_description(made.table),
                settings=settings.sqlx,
            )
        except DbInspectError as error:
            message = error.message + (f" ({error.hint})" if error.hint else "")
            self._show(Text("Cannot generate: ", style="bold red") + safe_text(message))
            return
        shown = Text()
        for warning in made.warnings:
            shown += Text("warning: the change loses data: ", style="bold yellow")
            shown += safe_text(warning) + Text("\n")
        for path, text in ((up, made.up), (down, made.down)):
            shown += Text("\n") + safe_text(path.name, style="bold") + Text("\n")
            shown += Text(escape_controls(text, keep="\n"))
        shown.no_wrap = True  # SQL keeps its lines; the preview scrolls sideways
        self._show(shown)
        if not write:
            return
        try:
            created = write_reversible_pair(up, down, made.up, made.down)
        except DbInspectError as error:
            self._show(Text("Cannot write: ", style="bold red") + safe_text(error.message))
            return
        self.dismiss(created)
