"""Builds the main screen's panes one by one, importing each pane's module when it is built.

The first frame shows one pane; the others are built right after it (see
`MainScreen._build_pane`). Building them, and importing their modules (the Data pane's
grid and exporter, the Migrations pane's runner), off the first frame's path brings it
to the screen about a sixth sooner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widget import Widget

if TYPE_CHECKING:
    from dbinspect.tui.session import Session

PANE_WIDGET_IDS = {
    "connection": "connection-pane",
    "metadata": "metadata-pane",
    "schema": "schema-pane",
    "data": "data-pane",
    "migrations": "migrations-pane",
    "help": "help-pane",
    "query": "query-pane",
}
"""The widget each tab holds, by the tab's id."""


def build_pane(pane_id: str, session: Session) -> Widget:
    """A new pane for the tab `pane_id` (a key of PANE_WIDGET_IDS)."""
    widget_id = PANE_WIDGET_IDS[pane_id]
    if pane_id == "connection":
        from dbinspect.tui.panes.connection import ConnectionPane

        return ConnectionPane(id=widget_id)
    if pane_id == "metadata":
        from dbinspect.tui.panes.metadata import MetadataPane

        return MetadataPane(id=widget_id)
    if pane_id == "schema":
        from dbinspect.tui.panes.schema import SchemaPane

        return SchemaPane(id=widget_id)
    if pane_id == "data":
        from dbinspect.tui.data.pane import DataPane

        return DataPane(id=widget_id, connections=session.connections)
    if pane_id == "migrations":
        from dbinspect.tui.panes.migrations import MigrationsPane

        return MigrationsPane(session, id=widget_id)
    if pane_id == "help":
        from dbinspect.tui.panes.help import HelpPane

        return HelpPane(id=widget_id)
    # The editor and its highlighting load when the Query pane is first shown.
    from dbinspect.tui.query import QueryPane

    return QueryPane(session, id=widget_id)
