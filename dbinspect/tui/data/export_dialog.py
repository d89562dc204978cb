"""Provides `ExportScreen`: choose a format and a file, then export the rows as browsed.

The rows are the Data pane's: its filters and sort. They are read on the connection
owner's `export` connection, so browsing and counting are not held up meanwhile, and
written by `dbinspect.export` (the same exporter as the command line's). Escape cancels a
running export: no file is left, and a file the export would have replaced is kept.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, ProgressBar, RadioButton, RadioSet
from textual.worker import Worker

from dbinspect.browse.protocol import Relation
from dbinspect.connections import PagerSource
from dbinspect.errors import DbInspectError
from dbinspect.export.encode import EXTENSIONS, FORMATS, Format
from dbinspect.export.exporter import default_target, export_to_file
from dbinspect.models import RowQuery
from dbinspect.tui.sanitize import escape_controls, safe_text

FORMAT_NAMES: dict[Format, str] = {
    "csv": "CSV",
    "jsonl": "JSON Lines",
    "sql": "SQL INSERTs",
}


class ExportScreen(ModalScreen[None]):
    """Format, path, Enter to export; a progress bar while it runs; Escape to cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
        #export { width: 72; height: auto; border: thick $primary; background: $surface;
                  padding: 0 1; }
        #export-title { text-style: bold; margin-bottom: 1; }
        #export-formats { width: 1fr; margin-bottom: 1; }
        #export-progress { display: none; margin-top: 1; }
        #export-progress.-running { display: block; }
        #export-status { color: $text-muted; margin-top: 1; }
    }
    """

    def __init__(
        self,
        connections: PagerSource,
        relation: Relation,
        query: RowQuery,
        total: int,
        *,
        exact: bool,
        folder: Path | None = None,
    ) -> None:
        super().__init__()
        self.connections = connections
        self.relation = relation
        self.row_query = query
        self.total = total
        self.exact = exact
        self.folder = Path.cwd() if folder is None else folder
        """Where a relative path is written (the working directory)."""
        self.fmt: Format = "csv"
        self._export: Worker[None] | None = None
        self._confirmed: Path | None = None
        """A file that exists and that Enter was pressed for once: the next Enter replaces it."""

    def compose(self) -> ComposeResult:
        title = safe_text(f"Export {self.relation}")
        if not self.row_query.plain:
            title.append(" as browsed (filters and sort)", style="dim")
        with Vertical(id="export"):
            yield Label(title, id="export-title")
            with RadioSet(id="export-formats"):
                for fmt in FORMATS:
                    yield RadioButton(
                        FORMAT_NAMES[fmt], value=fmt == self.fmt, id=f"export-format-{fmt}"
                    )
            yield Input(self._default_name(self.fmt), id="export-path")
            yield ProgressBar(total=None, show_eta=False, id="export-progress")
            yield Label(self._hint(), id="export-status")

    def on_mount(self) -> None:
        self.query_one("#export-path", Input).focus()

    def _default_name(self, fmt: Format) -> str:
        return default_target(self.relation, fmt, self.folder).name

    def _hint(self) -> Text:
        about = "" if self.exact else "about "
        rows = f"{about}{self.total:,} row{'' if self.total == 1 else 's'}"
        return Text(f"{rows} · Enter exports · Escape closes")

    def _status(self, text: Text | str) -> None:
        self.query_one("#export-status", Label).update(text)

    @property
    def running(self) -> bool:
        """Whether an export is being written."""
        return self._export is not None and self._export.is_running

    @on(RadioSet.Changed, "#export-formats")
    def _format_chosen(self, event: RadioSet.Changed) -> None:
        previous, self.fmt = self.fmt, FORMATS[event.index]
        path = self.query_one("#export-path", Input)
        if path.value == self._default_name(previous):
            path.value = self._default_name(self.fmt)
        elif path.value.endswith("." + EXTENSIONS[previous]):
            path.value = path.value[: -len(EXTENSIONS[previous])] + EXTENSIONS[self.fmt]
        path.focus()

    @on(Input.Submitted, "#export-path")
    def _path_given(self, event: Input.Submitted) -> None:
        if self.running:
            return
        text = event.value.strip()
        if not text:
            self._status(Text("Give a file to write", style="bold"))
            return
        target = self.folder / Path(text).expanduser()
        if target.is_dir():
            self._status(safe_text(f"{target} is a folder: give a file name", style="bold"))
            return
        if target.exists() and self._confirmed != target:
            self._confirmed = target
            self._status(safe_text(f"{target.name} exists: Enter again replaces it", style="bold"))
            return
        self._start(target)

    def _start(self, target: Path) -> None:
        self.query_one("#export-path", Input).disabled = True
        self.query_one("#export-formats", RadioSet).disabled = True
        bar = self.query_one("#export-progress", ProgressBar)
        bar.update(total=self.total if self.exact and self.total else None, progress=0)
        bar.add_class("-running")
        self._status(Text("Exporting… Escape cancels"))
        self._export = self.run_worker(
            self._write(target), group="data-export", exclusive=True, exit_on_error=False
        )

    async def _write(self, target: Path) -> None:
        bar = self.query_one("#export-progress", ProgressBar)

        def progress(rows: int) -> None:
            if bar.total is not None and rows > bar.total:
                bar.update(total=rows)
            bar.update(progress=rows)
            self._status(Text(f"{rows:,} rows written… Escape cancels"))

        try:
            pager = await self.connections.get("export")
            count = await export_to_file(
                pager, self.relation, self.row_query, self.fmt, target, on_progress=progress
            )
        except asyncio.CancelledError:
            await self.connections.interrupt("export")
            raise
        except DbInspectError as error:
            self._failed(error.one_line())
            return
        rows = f"{count:,} row{'' if count == 1 else 's'}"
        self.app.notify(escape_controls(f"Exported {rows} to {target}"), markup=False, timeout=6)
        self.dismiss(None)

    def _failed(self, reason: str) -> None:
        self.query_one("#export-progress", ProgressBar).remove_class("-running")
        self.query_one("#export-path", Input).disabled = False
        self.query_one("#export-formats", RadioSet).disabled = False
        self.query_one("#export-path", Input).focus()
        self._confirmed = None
        self._status(safe_text(f"Export failed: {reason}", style="bold red"))

    def action_cancel(self) -> None:
        """Stop the export now running (its file is removed), or close."""
        if self.running and self._export is not None:
            self._export.cancel()
            self.app.notify("Export cancelled: no file was written", timeout=4)
        self.dismiss(None)
