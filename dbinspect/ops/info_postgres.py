"""Provides `info` on PostgreSQL: server and session facts as lines or one JSON object."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dbinspect.models import DatabaseFacts, ObjectCounts, ServerFacts
from dbinspect.url import DatabaseUrl

# The counts `info` reports on PostgreSQL, in the order it prints them.
COUNTS: tuple[tuple[str, str], ...] = (
    ("schemas", "Schemas"),
    ("tables", "Tables"),
    ("partitioned_tables", "Partitioned tables"),
    ("views", "Views"),
    ("materialized_views", "Materialized views"),
    ("foreign_tables", "Foreign tables"),
    ("indexes", "Indexes"),
    ("sequences", "Sequences"),
    ("triggers", "Triggers"),
    ("functions", "Functions"),
    ("types", "Types"),
    ("extensions", "Extensions"),
)


def postgres_facts_to_json(
    url: DatabaseUrl, facts: DatabaseFacts, server: ServerFacts
) -> dict[str, Any]:
    """The `info --json` object: server facts, then counts, at the top level."""
    data = asdict(server)
    counts = _counts(facts.counts)
    return {
        "url": url.masked,
        "backend": url.backend,
        **data,
        "schemas_searched": list(server.schemas_searched),
        "size_bytes": facts.size_bytes,
        "read_only": facts.read_only,
        "read_only_state": server.read_only_state,
        **counts,
    }


def postgres_facts_to_lines(
    url: DatabaseUrl, facts: DatabaseFacts, server: ServerFacts
) -> list[tuple[str, str]]:
    """Label/value pairs in the order `info` prints them."""
    searched = ", ".join(server.schemas_searched) or "no existing schema"
    lines = [
        ("URL", url.masked),
        ("PostgreSQL version", server.server_version),
        ("Host", f"{server.host}:{server.port}"),
        ("Database", server.database),
        ("User", server.user),
        ("SSL", f"yes ({server.ssl_version})" if server.ssl else "no"),
        ("Search path", f"{server.search_path} (finds: {searched})"),
        ("Size", f"{facts.size_bytes:,} bytes"),
        ("Encoding", server.encoding),
        ("Time zone", server.time_zone),
        ("Server", server.read_only_state),
        ("Session", "read-only (dbinspect only reads)"),
        ("Latest migration", _migration(server)),
    ]
    counts = _counts(facts.counts)
    lines += [(label, str(counts[name])) for name, label in COUNTS]
    return lines


def _counts(counts: ObjectCounts) -> dict[str, int]:
    values = asdict(counts)
    return {name: values[name] for name, _ in COUNTS}


def _migration(server: ServerFacts) -> str:
    latest = server.latest_migration
    if server.migrations_unreadable is not None:
        return f"unknown: _sqlx_migrations cannot be read ({server.migrations_unreadable})"
    if latest is None:
        return "none (no _sqlx_migrations table on the search path, or it is empty)"
    state = "" if latest.success else ", FAILED (the database is dirty)"
    failed = f", {latest.failed} failed" if latest.failed else ""
    return (
        f"{latest.version} {latest.description} (installed {latest.installed_on}{state}; "
        f"{latest.applied} applied{failed})"
    )
