"""dbinspect: a terminal inspector and sqlx-compatible migration runner for SQLite."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
