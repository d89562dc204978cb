"""Textual app of dbinspect: panes for connection, metadata, schema, data and migrations."""

from __future__ import annotations

__all__: list[str] = []
