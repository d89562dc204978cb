"""Holds what the whole app shares: settings, the open backend, and the launch outcome."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dbinspect.backends import Backend
from dbinspect.config import Settings
from dbinspect.connections import ConnectionOwner
from dbinspect.extensions import Extension
from dbinspect.models import Schema
from dbinspect.tui.outcome import LaunchOutcome
from dbinspect.url import DatabaseUrl


@dataclass(slots=True)
class Session:
    """The database the app is on; `backend` is swapped when the database is reopened."""

    settings: Settings
    url: DatabaseUrl
    connections: ConnectionOwner
    """Every connection the app holds; the panes read on its `panes` connection."""
    read_only_reason: str | None = None
    """Why the app cannot write this database (`--read-only`, file mode...), None if it can."""
    outcome: LaunchOutcome | None = None
    path_label: str | None = None
    """Shown instead of the file's absolute path (keeps screenshots free of temp paths)."""
    cwd: Path = field(default_factory=Path.cwd)
    outline: asyncio.Future[Schema] | None = None
    """The object list, already being read while the app starts (see `launch`)."""
    on_first_frame: Callable[[], None] | None = None
    """Called once the first frame is on screen (the launch turns the collector on)."""

    @property
    def backend(self) -> Backend:
        """The connection the panes read facts and schema on."""
        return self.connections.panes

    async def backend_opened(self) -> Backend:
        """`backend`, opened first if the launch did not (see `ConnectionOwner.get`)."""
        return await self.connections.get("panes")

    @property
    def read_only(self) -> bool:
        """Whether every write action is off."""
        return self.read_only_reason is not None

    @property
    def extensions(self) -> tuple[Extension, ...]:
        """The SQLite extensions every reading connection of the app loads."""
        return self.settings.extensions.inspection

    @property
    def folder(self) -> Path:
        """The migrations folder."""
        return self.settings.migrations.path

    @property
    def folder_label(self) -> str:
        """The migrations folder, relative to the working directory when inside it."""
        return display_path(self.folder, self.cwd)


def display_path(path: Path, cwd: Path) -> str:
    """`path` relative to `cwd` when it lies inside it, else absolute.

    A symlink keeps the name it was given by (`migrations`, not where it points): only the
    folders above it are resolved, in case `cwd` is itself reached through a link.
    """
    for folder, base in (
        (Path(os.path.abspath(path)), Path(os.path.abspath(cwd))),
        (Path(os.path.abspath(path)).parent.resolve() / path.name, cwd.resolve()),
    ):
        try:
            return str(folder.relative_to(base))
        except ValueError:
            continue
    return os.fspath(path)
