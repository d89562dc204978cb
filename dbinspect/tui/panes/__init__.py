"""The six panes of the main screen."""

from __future__ import annotations

from dbinspect.tui.panes.connection import ConnectionPane
from dbinspect.tui.panes.data_placeholder import DataPlaceholder, make_data_pane
from dbinspect.tui.panes.help import HelpPane
from dbinspect.tui.panes.metadata import MetadataPane
from dbinspect.tui.panes.migrations import MigrationsPane
from dbinspect.tui.panes.schema import SchemaPane

__all__ = [
    "ConnectionPane",
    "DataPlaceholder",
    "HelpPane",
    "MetadataPane",
    "MigrationsPane",
    "SchemaPane",
    "make_data_pane",
]
