"""Textual app of dbinspect: panes for connection, metadata, schema, data and migrations."""

from __future__ import annotations

from dbinspect.tui.launch import launch

__all__ = ["launch"]
