"""Provides the records of another migration tool's history, as dbinspect reads it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EntryState = Literal["applied", "failed", "rolled back", "dirty", "reverted"]
"""How the tool itself records one row: only `applied` counts toward the head."""


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One row of a tracking table: a version with its name and time where recorded."""

    version: str
    name: str | None = None
    applied_at: str | None = None
    state: EntryState = "applied"
    detail: str | None = None
    """A note the tool keeps beside the row: Flyway's type, Prisma's log, knex's batch..."""


@dataclass(frozen=True, slots=True)
class PendingFile:
    """A file in the tool's migrations folder whose version is not applied."""

    version: str
    path: Path


@dataclass(frozen=True, slots=True)
class ForeignHistory:
    """What one other tool's tracking table says about the database."""

    tool: str
    table: str
    """The tracking table, schema-qualified on PostgreSQL outside `public`."""
    entries: tuple[HistoryEntry, ...]
    head: str | None
    """The current version as the tool would report it; None when nothing is applied."""
    problems: tuple[str, ...] = ()
    """Failed, dirty or half-applied states, one line each."""
    locks: tuple[str, ...] = ()
    """The lock rows the tool keeps, as it records them (knex's `is_locked`)."""
    notes: tuple[str, ...] = ()
    """What the table cannot tell (e.g. golang-migrate keeps only the current version)."""
    siblings: tuple[str, ...] = ()
    """The other tables of the tool that were found (they decided which tool this is)."""
    folder: Path | None = None
    """The tool's migrations folder, when configured or found where the tool keeps it."""
    pending: tuple[PendingFile, ...] = field(default=())

    @property
    def state(self) -> str:
        """`dirty`, `failed` or `clean`: one word for the Metadata pane and `info`."""
        if any(entry.state == "dirty" for entry in self.entries):
            return "dirty"
        if self.problems:
            return "failed"
        return "clean"
