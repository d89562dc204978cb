"""Provides `migrate baseline --check`: the live schema against the folder's replay.

The migrations up to the baseline's version are replayed into a scratch database (see
`ops.replay`) and compared object by object with the live one (see `ops.drift`), as
`check` compares them. The tracking table is left out: the replay creates it, and the
database being adopted has none yet (or an empty one).
"""

from __future__ import annotations

from pathlib import Path

from dbinspect.config import Settings
from dbinspect.ops.drift import Difference, compare_schemas
from dbinspect.ops.replay import SkippedStatement, UrlKind, replay_migrations
from dbinspect.url import DatabaseUrl


def is_tracking(difference: Difference, table: str) -> bool:
    """Whether `difference` is about the tracking table or an object that belongs to it."""
    name = table.rsplit(".", 1)[-1].strip('"')
    if difference.kind == "table":
        return difference.name.rsplit(".", 1)[-1] == name
    definition = difference.expected or difference.actual or {}
    owner = str(definition.get("table") or "")
    return owner.rsplit(".", 1)[-1] == name


async def baseline_drift(
    url: DatabaseUrl, folder: Path, settings: Settings, versions: list[int]
) -> tuple[list[Difference], tuple[SkippedStatement, ...]]:
    """The objects where the live schema differs from the replay of `versions`.

    Raises:
        MigrationFailedError: A migration fails on the empty scratch database.
        OperationError: PostgreSQL: no scratch database can be created.
    """
    from dbinspect.backends import open_backend

    kind: UrlKind = "postgres" if url.backend == "postgres" else "sqlite"
    replay = await replay_migrations(kind, folder, settings.sqlx, versions=versions, server=url)
    extensions = settings.extensions.inspection if kind == "sqlite" else ()
    backend = await open_backend(url, extensions=extensions)
    try:
        live = await backend.schema()
    finally:
        await backend.aclose()
    differences = [
        d
        for d in compare_schemas(replay.schema, live, kind)
        if not is_tracking(d, settings.sqlx.table_name)
    ]
    return differences, replay.skipped


def difference_lines(differences: list[Difference]) -> list[str]:
    """One line per object that differs, naming the fields that changed."""
    lines = []
    for diff in differences:
        if diff.change == "added":
            lines.append(
                f"  added {diff.kind} {diff.name} (in the database, not in the migrations)"
            )
        elif diff.change == "missing":
            lines.append(
                f"  missing {diff.kind} {diff.name} (in the migrations, not in the database)"
            )
        else:
            keys = diff.changed_keys()
            if "sql" in keys:  # SQLite's definition: everything else is read from it
                keys = ["sql"]
            lines.append(f"  changed {diff.kind} {diff.name}: {', '.join(keys)}")
    return lines
