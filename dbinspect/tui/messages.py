"""Messages that carry results of database work from workers to the widgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.message import Message

from dbinspect.errors import DbInspectError
from dbinspect.migrate import MigrationEvent, MigrationResult, MigrationStatus
from dbinspect.models import DatabaseFacts, Schema

Direction = Literal["up", "down"]


class FactsLoaded(Message):
    """The Connection and Metadata facts were read."""

    def __init__(self, facts: DatabaseFacts) -> None:
        super().__init__()
        self.facts = facts


class SchemaLoaded(Message):
    """Every object of the database was read."""

    def __init__(self, schema: Schema) -> None:
        super().__init__()
        self.schema = schema


class MigrationsLoaded(Message):
    """The status of every migration was read (or why it could not be)."""

    def __init__(self, statuses: list[MigrationStatus] | None, error: str | None) -> None:
        super().__init__()
        self.statuses = statuses
        self.error = error


class SizesLoaded(Message):
    """Sizes of the largest tables, in bytes (`dbstat`) or rows (estimates)."""

    def __init__(self, sizes: list[tuple[str, int]], unit: str, note: str) -> None:
        super().__init__()
        self.sizes = sizes
        self.unit = unit
        self.note = note


class LoadFailed(Message):
    """Reading something from the database failed."""

    def __init__(self, area: str, error: DbInspectError) -> None:
        super().__init__()
        self.area = area
        self.error = error


class DatabaseChanged(Message):
    """Another process wrote to the database (`catalog`: its objects too, not just rows)."""

    def __init__(self, catalog: bool = True) -> None:
        super().__init__()
        self.catalog = catalog


@dataclass(frozen=True, slots=True)
class MigrationPlan:
    """What a Migrations pane action will do, worked out before asking to confirm."""

    title: str
    """The action, e.g. `Apply all pending migrations`."""
    direction: Direction
    target: int | None
    """The version to stop at (None: every pending, or only the last applied on revert)."""
    steps: tuple[MigrationResult, ...]
    """The migrations that will run, in order (from a dry run)."""
    sql: tuple[str, ...]
    """The SQL of each step, shown in the confirmation."""
    extensions: tuple[str, ...] = ()
    """The SQLite extensions the run loads (from `sqlx.toml` and the command line)."""


class PlanReady(Message):
    """A migration action's plan is ready to confirm."""

    def __init__(self, plan: MigrationPlan) -> None:
        super().__init__()
        self.plan = plan


class MigrationProgressed(Message):
    """A migration started or finished while a plan runs."""

    def __init__(self, event: MigrationEvent) -> None:
        super().__init__()
        self.event = event


@dataclass(frozen=True, slots=True)
class StatusReading:
    """The migration statuses as read at one moment, or why they could not be read."""

    statuses: list[MigrationStatus] | None
    error: str | None


class MigrationsFinished(Message):
    """A plan ran to its end; `after` is what the statuses were once it had."""

    def __init__(
        self, plan: MigrationPlan, results: list[MigrationResult], after: StatusReading
    ) -> None:
        super().__init__()
        self.plan = plan
        self.results = results
        self.after = after


class MigrationsFailed(Message):
    """A plan (or working it out) failed; the database is left as the error says."""

    def __init__(self, title: str, error: DbInspectError, after: StatusReading) -> None:
        super().__init__()
        self.title = title
        self.error = error
        self.after = after


class MigrationsCancelled(Message):
    """A run was cancelled: `done` ran to their end, `rolled_back` was stopped and undone."""

    def __init__(
        self,
        plan: MigrationPlan,
        done: tuple[MigrationEvent, ...],
        rolled_back: MigrationEvent | None,
        after: StatusReading,
    ) -> None:
        super().__init__()
        self.plan = plan
        self.done = done
        self.rolled_back = rolled_back
        self.after = after
