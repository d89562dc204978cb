"""Creates new migration files, named and versioned as `sqlx migrate add` does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from dbinspect.config import SqlxSettings
from dbinspect.errors import ConfigError, MigrationError
from dbinspect.migrate.records import Migration
from dbinspect.migrate.source import DEFAULT_SETTINGS, load_migrations


def next_version(migrations: list[Migration], *, timestamp: bool, sequential: bool) -> str:
    """The version prefix of a new migration, inferred from the existing ones as sqlx does.

    Sequential (4 digits) when asked, or when the two newest versions differ by 1, or
    when the only one is 0 or 1; otherwise a UTC timestamp `%Y%m%d%H%M%S`.
    """
    if timestamp and sequential:
        raise ConfigError("--timestamp and --sequential exclude each other")
    versions = sorted({m.version for m in migrations})
    if timestamp:
        return datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    inferred = None
    if len(versions) >= 2 and versions[-1] - versions[-2] == 1:
        inferred = versions[-1] + 1
    elif len(versions) == 1 and versions[0] in (0, 1):
        inferred = versions[0] + 1
    if sequential:
        inferred = versions[-1] + 1 if versions else 1
    if inferred is None:
        return datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"{inferred:04}"


def add_migration(
    folder: Path,
    description: str,
    *,
    reversible: bool | None = None,
    timestamp: bool = False,
    sequential: bool = False,
    settings: SqlxSettings = DEFAULT_SETTINGS,
) -> list[Path]:
    """Create a new migration file (or an up/down pair) named as `sqlx migrate add` does.

    Args:
        reversible: Make an `.up.sql`/`.down.sql` pair; None infers it from the newest
            existing migration, as sqlx does.

    Returns:
        The created files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    migrations = load_migrations(folder, settings)
    if reversible is None:
        reversible = bool(migrations) and migrations[-1].kind == "reversible"
    prefix = next_version(migrations, timestamp=timestamp, sequential=sequential)
    stem = f"{prefix}_{description.replace(' ', '_')}"
    if reversible:
        contents = {
            f"{stem}.up.sql": "-- Add up migration script here\n",
            f"{stem}.down.sql": "-- Add down migration script here\n",
        }
    else:
        contents = {f"{stem}.sql": "-- Add migration script here\n"}
    created = []
    for name, text in contents.items():
        path = folder / name
        try:
            with path.open("x", encoding="utf-8", newline="") as handle:
                handle.write(text)
        except FileExistsError as error:
            raise MigrationError(f"{path} already exists", "choose another name") from error
        created.append(path)
    return created
