"""Works out what a Migrations pane action will run, and words its confirmation and report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rich.console import Group, RenderableType
from rich.text import Text

from dbinspect import migrate  # the engine loads on first use, after the first frame
from dbinspect.config import SqlxSettings
from dbinspect.errors import DbInspectError, MigrationError, MigrationFailedError
from dbinspect.migrate import MigrationEvent, MigrationResult, MigrationStatus
from dbinspect.tui.messages import MigrationPlan
from dbinspect.tui.sanitize import safe_text
from dbinspect.tui.sql_view import sql_block
from dbinspect.url import DatabaseUrl

if TYPE_CHECKING:
    from textual.app import App

ActionKind = Literal["next", "all", "revert", "target"]


@dataclass(frozen=True, slots=True)
class Action:
    """An action resolved against the current statuses, before its dry run."""

    title: str
    direction: Literal["up", "down"]
    target: int | None


def choose_action(kind: str, selected: int | None, statuses: list[MigrationStatus]) -> Action | str:
    """The action `kind` means now, or a sentence saying why there is nothing to do."""
    current = max((s.version for s in statuses if s.applied is not None), default=0)
    pending = [s.version for s in statuses if s.status == "pending"]
    if kind == "next":
        if not pending:
            return "No pending migrations."
        return Action(f"Apply the next migration ({pending[0]})", "up", pending[0])
    if kind == "all":
        return Action("Apply all pending migrations", "up", None)
    if kind == "revert":
        return Action("Revert the last applied migration", "down", None)
    if selected is None:
        return "Select a migration first."
    if selected == current:
        return f"The database is already at version {current}."
    direction: Literal["up", "down"] = "up" if selected > current else "down"
    return Action(f"Migrate {direction} to version {selected}", direction, selected)


async def make_plan(
    action: Action,
    statuses: list[MigrationStatus],
    url: DatabaseUrl,
    folder: Path,
    sqlx: SqlxSettings,
) -> MigrationPlan:
    """Dry-run `action` through the engine, so the confirmation shows exactly what will run.

    Raises:
        DbInspectError: The engine refuses (dirty database, edited file, missing down file...).
    """
    if action.direction == "up":
        steps = await migrate.run_migrations(
            url, folder, sqlx, target_version=action.target, dry_run=True
        )
    else:
        steps = await migrate.revert_migrations(
            url, folder, sqlx, target_version=action.target, dry_run=True
        )
    by_version = {s.version: s.migration for s in statuses}
    sql = []
    for step in steps:
        migration = by_version.get(step.version)
        text = None
        if migration is not None:
            text = migration.up_sql if action.direction == "up" else migration.down_sql
        sql.append(text or "")
    return MigrationPlan(
        action.title,
        action.direction,
        action.target,
        tuple(steps),
        tuple(sql),
        tuple(str(e) for e in sqlx.extensions),
    )


async def run_confirmed(
    plan: MigrationPlan,
    url: DatabaseUrl,
    folder: Path,
    sqlx: SqlxSettings,
    on_event: Callable[[MigrationEvent], None],
) -> list[MigrationResult]:
    """Run exactly the plan the user confirmed; cancelling rolls the running one back.

    Raises:
        DbInspectError: The engine refuses, a migration fails, or the engine's own plan is
            no longer the confirmed one (a file added or removed meanwhile): nothing runs.
    """
    expected = [step.version for step in plan.steps]
    if plan.direction == "up":
        return await migrate.run_migrations(
            url,
            folder,
            sqlx,
            target_version=plan.target,
            on_event=on_event,
            expected_versions=expected,
        )
    return await migrate.revert_migrations(
        url, folder, sqlx, target_version=plan.target, on_event=on_event, expected_versions=expected
    )


def confirmation_body(plan: MigrationPlan, *, app: App[Any] | None = None) -> RenderableType:
    """Every step of the plan with its SQL (highlighted for `app`'s theme) and warnings."""
    verb = "apply" if plan.direction == "up" else "revert"
    parts: list[RenderableType] = [
        Text(f"This will {verb} {len(plan.steps)} migration(s):", style="bold")
    ]
    if plan.extensions:
        parts.append(Text("It loads these SQLite extensions first:", style="yellow"))
        parts.extend(Text("  ") + safe_text(path) for path in plan.extensions)
    for step, sql in zip(plan.steps, plan.sql, strict=True):
        label = f"{step.version} {plan.direction}: "
        parts.append(sql_block(label + step.description, sql, app=app))
        # A warning names its file: escaped like the file name in the heading above it.
        parts.extend(safe_text(f"warning: {w}", style="yellow") for w in step.warnings)
    return Group(*parts)


def failure_report(error: DbInspectError) -> RenderableType:
    """Which file and statement failed, and the version the database is left at."""
    lines: list[RenderableType] = [safe_text(error.message, style="bold red")]
    if isinstance(error, MigrationFailedError):
        lines += [
            Text(""),
            Text("Migration: ", style="bold") + Text(str(error.version)),
            Text("File:      ", style="bold") + safe_text(error.path),
        ]
        if error.statement:
            lines += [Text("Statement:", style="bold"), safe_text(error.statement)]
        at = error.at_version or "none (no migration applied)"
        lines += [
            Text(""),
            Text(f"The migration was rolled back. The database is at version {at}.", style="bold"),
        ]
    elif isinstance(error, MigrationError):
        lines += [Text(""), Text("Nothing was run; the database is unchanged.")]
    if error.hint:
        lines += [Text(""), Text("Hint: ", style="bold") + safe_text(error.hint)]
    return Group(*lines)
