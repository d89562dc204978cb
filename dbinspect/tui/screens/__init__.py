"""Screens of the app: the main screen with its panes, and dialogs."""

from __future__ import annotations

from dbinspect.tui.screens.dialogs import ConfirmScreen, ReportScreen

__all__ = ["ConfirmScreen", "ReportScreen"]
