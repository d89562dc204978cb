"""The Query pane: an SQL editor whose results stream into the Data pane's grid."""

from dbinspect.tui.query.pane import QueryPane

__all__ = ["QueryPane"]
