"""Provides the Metadata pane: object and migration counts, pages, and the largest tables."""

from __future__ import annotations

from collections import Counter

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from dbinspect.migrate import MigrationStatus
from dbinspect.models import DatabaseFacts
from dbinspect.tui.panes.common import facts_table, heading, human_size
from dbinspect.tui.panes.other_tools import OtherTools
from dbinspect.tui.sanitize import safe_text

STATUS_ORDER = ("applied", "pending", "modified", "missing", "failed")
BAR_WIDTH = 40
NAME_WIDTH = 28


def bar_chart(sizes: list[tuple[str, int]], unit: str, width: int = BAR_WIDTH) -> Text:
    """Horizontal bars, one line per table, scaled to the largest and `width` cells long."""
    chart = Text()
    if not sizes:
        return Text("no tables", style="dim")
    largest = max(value for _, value in sizes) or 1
    for name, value in sizes:
        label = safe_text(name, max_chars=NAME_WIDTH)
        label.pad_right(NAME_WIDTH - len(label.plain))
        chart.append_text(label)
        filled = max(1, round(width * value / largest)) if value else 0
        chart.append(" " + "█" * filled, style="green")
        chart.append(" " * (width - filled + 1))
        shown = human_size(value) if unit == "bytes" else f"{value:,} rows"
        chart.append(shown + "\n")
    chart.rstrip()
    return chart


class MetadataPane(VerticalScroll):
    """Counts of objects and migrations, page figures and a bar chart of table sizes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._sizes: tuple[list[tuple[str, int]], str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text("Loading…"), id="metadata-counts")
        yield OtherTools(full=False, id="metadata-other")
        # Sizes are measured only once this pane is shown: say so until they arrive.
        yield Static(Text("Measuring the largest tables…", style="dim"), id="metadata-chart")

    def show_counts(self, facts: DatabaseFacts, statuses: list[MigrationStatus] | None) -> None:
        """Render object, migration and page counts (and other tools' histories)."""
        session = getattr(self.screen, "session", None)
        if session is not None:
            self.query_one(OtherTools).load(session)
        counts = facts.counts
        by_status: Counter[str] = Counter(s.status for s in statuses or [])
        migrations = (
            ", ".join(f"{by_status[name]} {name}" for name in STATUS_ORDER)
            if statuses is not None
            else "no migrations folder"
        )
        if facts.server is not None:
            objects = facts_table(
                [
                    ("Schemas", counts.schemas),
                    ("Tables", counts.tables),
                    ("Partitioned tables", counts.partitioned_tables),
                    ("Views", counts.views),
                    ("Materialized views", counts.materialized_views),
                    ("Indexes", counts.indexes),
                    ("Sequences", counts.sequences),
                    ("Triggers", counts.triggers),
                    ("Functions", counts.functions),
                    ("Types", counts.types),
                    ("Extensions", counts.extensions),
                ]
            )
            storage = facts_table(
                [("Migrations", migrations), ("Database size", human_size(facts.size_bytes))]
            )
            self.query_one("#metadata-counts", Static).update(
                Group(heading("Objects"), objects, Text(""), heading("Storage"), storage, Text(""))
            )
            return
        objects = facts_table(
            [
                ("Tables", counts.tables),
                ("Views", counts.views),
                ("Indexes", counts.indexes),
                ("Triggers", counts.triggers),
                ("Virtual tables", counts.virtual_tables),
                ("SQLite internal", counts.internal),
            ]
        )
        pages = facts_table(
            [
                ("Migrations", migrations),
                ("Page count", f"{facts.page_count:,}"),
                ("Freelist pages", f"{facts.freelist_count:,}"),
                ("Page size", f"{facts.page_size} bytes"),
                ("File size", human_size(facts.size_bytes)),
            ]
        )
        self.query_one("#metadata-counts", Static).update(
            Group(heading("Objects"), objects, Text(""), heading("Storage"), pages, Text(""))
        )

    def show_sizes(self, sizes: list[tuple[str, int]], unit: str, note: str) -> None:
        """Render the bar chart of the largest tables; `note` says how they were measured."""
        self._sizes = (sizes, unit, note)
        self._render_chart()

    def on_resize(self) -> None:
        self._render_chart()

    def _render_chart(self) -> None:
        if self._sizes is None:
            return
        sizes, unit, note = self._sizes
        # Name, bar and figure share one line: the bar takes what the pane has left.
        room = self.size.width - NAME_WIDTH - 20
        width = max(8, min(BAR_WIDTH, room)) if self.size.width else BAR_WIDTH
        title = heading(f"Largest tables {note}")
        chart = bar_chart(sizes, unit, width)
        self.query_one("#metadata-chart", Static).update(Group(title, chart))
