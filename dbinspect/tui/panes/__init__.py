"""The panes of the main screen (the Query pane lives in `dbinspect.tui.query`)."""

from __future__ import annotations

from dbinspect.tui.panes.connection import ConnectionPane
from dbinspect.tui.panes.help import HelpPane
from dbinspect.tui.panes.metadata import MetadataPane
from dbinspect.tui.panes.migrations import MigrationsPane
from dbinspect.tui.panes.schema import SchemaPane

__all__ = [
    "ConnectionPane",
    "HelpPane",
    "MetadataPane",
    "MigrationsPane",
    "SchemaPane",
]
