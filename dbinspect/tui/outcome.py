"""What applying migrations at launch did, shown by the app rather than hidden."""

from __future__ import annotations

from dataclasses import dataclass

from dbinspect.errors import DbInspectError
from dbinspect.migrate import MigrationResult


@dataclass(frozen=True, slots=True)
class LaunchOutcome:
    """The migrations applied at launch, or the error that stopped them."""

    applied: tuple[MigrationResult, ...] = ()
    error: DbInspectError | None = None
    skipped: str | None = None
    """Why pending migrations were not applied (the database is read-only)."""

    @property
    def summary(self) -> str:
        """One line for the Migrations pane banner and the notification."""
        if self.error is not None:
            return f"Migrations on launch failed: {self.error.one_line()}"
        if self.skipped is not None:
            return f"Migrations on launch not applied: {self.skipped}."
        if not self.applied:
            return "Migrations on launch: the database was up to date."
        versions = ", ".join(str(r.version) for r in self.applied)
        return f"Migrations on launch: applied {len(self.applied)} ({versions})."
