"""dbinspect: a terminal inspector and sqlx-compatible migration runner for SQLite."""

from __future__ import annotations

import logging

# Library convention: no output unless the application configures logging.
logging.getLogger("dbinspect").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = ["__version__"]
