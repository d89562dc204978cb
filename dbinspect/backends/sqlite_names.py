"""Quotes SQLite identifiers; shared by the backend and the migration engine."""

from __future__ import annotations


def quote_identifier(name: str) -> str:
    """Quote an identifier for SQLite, doubling embedded double quotes."""
    return '"' + name.replace('"', '""') + '"'
