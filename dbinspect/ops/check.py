"""Provides `check`: integrity, migration state and drift of a database, changing nothing.

Every part reads: SQLite's checks run on a read-only connection, the migration state is
read as `migrate info` reads it, and the drift is found by replaying the migrations into
a scratch database (see `ops.replay`), never into the inspected one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

from dbinspect import event_loop
from dbinspect.config import Settings
from dbinspect.errors import DbInspectError, OperationError
from dbinspect.migrate.cancellation import Cancellation, CancelledInWorker
from dbinspect.migrate.records import InvalidIndex, MigrationStatus
from dbinspect.ops.check_sqlite import ForeignKeyViolation, ProgressHandler
from dbinspect.ops.drift import Difference, compare_schemas
from dbinspect.ops.replay import SkippedStatement, UrlKind, replay_migrations
from dbinspect.url import DatabaseUrl


class CheckReport(NamedTuple):
    """Everything `check` found; `problems` decides its exit status."""

    database: str
    backend: str
    integrity: tuple[str, ...] | None = None
    """SQLite's `integrity_check` messages (empty: ok); None where it does not apply."""
    foreign_keys: tuple[ForeignKeyViolation, ...] = ()
    migrations: tuple[MigrationStatus, ...] = ()
    """Every migration's status (applied ones included)."""
    drift: tuple[Difference, ...] = ()
    drift_error: str | None = None
    """Why the migration state or drift could not be checked (a problem)."""
    skipped: tuple[SkippedStatement, ...] = ()
    invalid_indexes: tuple[InvalidIndex, ...] = ()
    amcheck: tuple[str, ...] = ()
    amcheck_checked: int | None = None
    """How many btree indexes amcheck verified; None when it did not run."""
    notes: tuple[str, ...] = ()
    """What was not checked, and why (not problems)."""

    @property
    def unhealthy_migrations(self) -> tuple[MigrationStatus, ...]:
        """Dirty (failed), missing, modified and pending migrations."""
        return tuple(s for s in self.migrations if s.status != "applied")

    @property
    def problems(self) -> int:
        """How many things are wrong; 0 means all is well."""
        return (
            len(self.integrity or ())
            + len(self.foreign_keys)
            + len(self.unhealthy_migrations)
            + len(self.drift)
            + (self.drift_error is not None)
            + len(self.invalid_indexes)
            + len(self.amcheck)
        )


def run_check(
    url: DatabaseUrl,
    settings: Settings,
    *,
    on_progress: ProgressHandler | None = None,
    cancellation: Cancellation | None = None,
) -> CheckReport:
    """Check the database at `url`; runs on the calling thread (a worker, for Ctrl+C).

    Raises:
        ConnectError, OperationError: The database cannot be read at all.
        MigrationSourceError: The migrations folder breaks sqlx's rules.
        CancelledInWorker: `cancellation` was cancelled.
    """
    cancellation = cancellation or Cancellation()
    kind: UrlKind = "postgres" if url.backend == "postgres" else "sqlite"
    report = CheckReport(url.masked, kind)
    if kind == "postgres":
        report = _postgres_checks(url, report)
        _stop_if_cancelled(cancellation)
        return _migration_checks(url, settings, report, kind, cancellation)
    from dbinspect.ops.check_sqlite import check_sqlite_file

    if url.path is None:
        raise OperationError("check needs a database file, not an in-memory database")
    # The migration state and the replay read on their own connections while SQLite's
    # checks run: those leave the GIL, so on a second core the drift costs no time.
    with ThreadPoolExecutor(1, thread_name_prefix="dbinspect-drift") as pool:
        migrations = pool.submit(_migration_checks, url, settings, report, kind, cancellation)
        found = check_sqlite_file(url.path, on_progress=on_progress, cancellation=cancellation)
        checked = migrations.result()
    _stop_if_cancelled(cancellation)
    return checked._replace(integrity=found.problems, foreign_keys=found.foreign_keys)


def _stop_if_cancelled(cancellation: Cancellation) -> None:
    if cancellation.event.is_set():
        raise CancelledInWorker


def _postgres_checks(url: DatabaseUrl, report: CheckReport) -> CheckReport:
    from dbinspect.migrate.runner import invalid_indexes
    from dbinspect.ops.check_postgres import run_amcheck

    amcheck = run_amcheck(url)
    notes = report.notes
    if not amcheck.installed:
        notes += (
            "amcheck is not installed in this database: btree indexes not verified "
            "(check never installs it; CREATE EXTENSION amcheck to enable)",
        )
    return report._replace(
        invalid_indexes=tuple(invalid_indexes(url)),
        amcheck=amcheck.problems,
        amcheck_checked=amcheck.checked if amcheck.installed else None,
        notes=notes,
    )


def _migration_checks(
    url: DatabaseUrl, settings: Settings, report: CheckReport, kind: UrlKind, cancel: Cancellation
) -> CheckReport:
    from dbinspect.migrate.runner import migration_status, uses_dbmate

    folder = settings.migrations.path
    if not folder.is_dir():
        return report._replace(
            notes=(
                *report.notes,
                f"no migrations folder at {folder}: migration state and drift not checked "
                "(pass --source DIR)",
            )
        )
    try:
        statuses = tuple(migration_status(url, folder, settings.sqlx))
    except DbInspectError as error:  # an unreadable folder or tracking table
        return report._replace(drift_error=f"cannot read the migration state: {error.one_line()}")
    report = report._replace(migrations=statuses)
    _stop_if_cancelled(cancel)
    if uses_dbmate(folder, settings.sqlx):
        from dbinspect.migrate.dbmate import NOTE

        report = report._replace(notes=(*report.notes, f"dbmate folder: {NOTE}"))
    # Only what the database applied is replayed: pending files are reported as pending,
    # not as drift.
    applied = [s.version for s in statuses if s.status in ("applied", "modified")]
    try:
        drift, skipped = event_loop.run(_drift(url, folder, settings, kind, applied))
    except DbInspectError as error:  # a migration that fails on an empty database...
        return report._replace(drift_error=error.one_line())
    from dbinspect.ops.baseline import is_tracking

    # The tracking table is the migrations' record, not what they build: the replay has
    # none when no migration is applied, and records into sqlx's table where the
    # database may use dbmate's.
    tracking = [settings.sqlx.table_name]
    if uses_dbmate(folder, settings.sqlx):
        from dbinspect.migrate.dbmate import TABLE

        tracking.append(TABLE)
    drift = [d for d in drift if not any(is_tracking(d, table) for table in tracking)]
    return report._replace(drift=tuple(drift), skipped=tuple(skipped))


async def _drift(
    url: DatabaseUrl, folder: Path, settings: Settings, kind: UrlKind, versions: list[int]
) -> tuple[list[Difference], tuple[SkippedStatement, ...]]:
    from dbinspect.backends import open_backend

    replay = await replay_migrations(kind, folder, settings.sqlx, versions=versions, server=url)
    extensions = settings.extensions.inspection if kind == "sqlite" else ()
    backend = await open_backend(url, extensions=extensions)
    try:
        live = await backend.schema()
    finally:
        await backend.aclose()
    return compare_schemas(replay.schema, live, kind), replay.skipped


def report_to_json(report: CheckReport) -> dict[str, Any]:
    """The report as one JSON object (`check --json`)."""
    return {
        "database": report.database,
        "backend": report.backend,
        "ok": report.problems == 0,
        "problems": report.problems,
        "integrity": None if report.integrity is None else list(report.integrity),
        "foreign_keys": [v._asdict() for v in report.foreign_keys],
        "migrations": [
            {"version": s.version, "description": s.description, "status": s.status}
            for s in report.migrations
        ],
        "drift": [
            {
                "change": d.change,
                "kind": d.kind,
                "name": d.name,
                "expected": d.expected,
                "actual": d.actual,
            }
            for d in report.drift
        ],
        "drift_error": report.drift_error,
        "skipped_in_replay": [s._asdict() for s in report.skipped],
        "invalid_indexes": [
            {"name": i.sql_name, "table": i.table, "definition": i.definition}
            for i in report.invalid_indexes
        ],
        "amcheck": list(report.amcheck),
        "amcheck_checked": report.amcheck_checked,
        "notes": list(report.notes),
    }


def report_to_lines(report: CheckReport) -> list[str]:
    """The report as the lines `check` prints: each area, then the verdict."""
    lines = []
    if report.integrity is not None:
        lines.append("integrity: ok" if not report.integrity else "integrity: PROBLEMS")
        lines += [f"  {message}" for message in report.integrity]
        fks = report.foreign_keys
        lines.append("foreign keys: ok" if not fks else f"foreign keys: {len(fks)} violation(s)")
        lines += [f"  {v.describe()}" for v in fks]
    if report.backend == "postgres":
        verified = (
            f" (amcheck verified {report.amcheck_checked} btree indexes)"
            if report.amcheck_checked is not None
            else ""
        )
        bad = report.invalid_indexes or report.amcheck
        lines.append(f"indexes: {'PROBLEMS' if bad else 'ok'}{verified}")
        lines += [f"  {i.warning()}" for i in report.invalid_indexes]
        lines += [f"  amcheck: {p}" for p in report.amcheck]
    if report.migrations:
        lines += _migration_lines(report)
    lines += _drift_lines(report)
    lines += [f"note: {note}" for note in report.notes]
    count = report.problems
    lines.append("result: all is well" if not count else f"result: {count} problem(s)")
    return lines


def _migration_lines(report: CheckReport) -> list[str]:
    bad = report.unhealthy_migrations
    applied = len(report.migrations) - len(bad)
    if not bad:
        return [f"migrations: ok ({applied} applied)"]
    words = {"failed": "dirty (failed part way)"}
    return [
        f"migrations: {len(bad)} not as expected ({applied} applied)",
        *(f"  {s.version} {s.description}: {words.get(s.status, s.status)}" for s in bad),
    ]


def _drift_lines(report: CheckReport) -> list[str]:
    lines = []
    if report.drift_error is not None:
        lines.append(f"drift: not checked: {report.drift_error}")
    elif report.migrations:
        lines.append("drift: none" if not report.drift else f"drift: {len(report.drift)} object(s)")
    for diff in report.drift:
        if diff.change != "changed":
            where = "not in the migrations" if diff.change == "added" else "not in the database"
            lines.append(f"  {diff.change} {diff.kind} {diff.name} ({where})")
            continue
        lines.append(f"  changed {diff.kind} {diff.name}:")
        keys = diff.changed_keys()
        if "sql" in keys:  # SQLite's definition: everything else is read from it
            keys = ["sql"]
        for key in keys:
            lines += _changed_field(
                key, (diff.expected or {}).get(key), (diff.actual or {}).get(key)
            )
    lines += [
        f"  skipped in the replay (acts outside the database): {s.file} {s.statement}"
        for s in report.skipped
    ]
    return lines


def _changed_field(key: str, expected: object, actual: object) -> list[str]:
    """Both values of a field; a list of named parts (columns...) part by part."""
    if _named_list(expected) and _named_list(actual):
        before = {str(p["name"]): p for p in expected}
        after = {str(p["name"]): p for p in actual}
        lines = []
        for name in dict.fromkeys([*before, *after]):
            if before.get(name) != after.get(name):
                lines += _changed_field(f"{key} {name}", before.get(name), after.get(name))
        return lines
    return [
        f"    {key}: migrations give {_shown(expected)}",
        f"    {' ' * len(key)}  database has {_shown(actual)}",
    ]


def _named_list(value: object) -> TypeGuard[list[dict[str, Any]]]:
    return isinstance(value, list) and all(isinstance(p, dict) and "name" in p for p in value)


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return " ".join(value.split())
    import json

    return json.dumps(value, ensure_ascii=False)
