"""Provides the operations on a database: demo, backup, restore, check and more."""

from __future__ import annotations
