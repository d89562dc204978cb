"""The Data pane: rows of any table or view, paged by key in bounded memory."""

from __future__ import annotations

from dbinspect.browse.window import CACHE_ROWS, RowWindow
from dbinspect.tui.data.commands import DataCommands
from dbinspect.tui.data.detail import DetailScreen
from dbinspect.tui.data.grid import RowGrid
from dbinspect.tui.data.pane import DataPane

__all__ = ["CACHE_ROWS", "DataCommands", "DataPane", "DetailScreen", "RowGrid", "RowWindow"]
