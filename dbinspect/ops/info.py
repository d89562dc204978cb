"""Provides `info`: a database's facts as plain text lines or one JSON object."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from dbinspect.models import SQLITE_COUNTS, DatabaseFacts
from dbinspect.url import DatabaseUrl


def facts_to_json(url: DatabaseUrl, facts: DatabaseFacts) -> dict[str, Any]:
    """Flatten facts into the `info --json` object (counts at the top level)."""
    if facts.server is not None:
        from dbinspect.ops.info_postgres import postgres_facts_to_json

        return postgres_facts_to_json(url, facts, facts.server)
    data = asdict(facts)
    data.pop("server")
    counts = {name: value for name, value in data.pop("counts").items() if name in SQLITE_COUNTS}
    return {"url": url.masked, "backend": url.backend, **data, **counts}


def facts_to_lines(url: DatabaseUrl, facts: DatabaseFacts) -> list[tuple[str, str]]:
    """Label/value pairs in the order `info` prints them."""
    if facts.server is not None:
        from dbinspect.ops.info_postgres import postgres_facts_to_lines

        return postgres_facts_to_lines(url, facts, facts.server)
    counts = facts.counts
    wal = "" if facts.wal_size_bytes is None else f" (+ {facts.wal_size_bytes:,} bytes in -wal)"
    return [
        ("URL", url.masked),
        ("Path", facts.path or ":memory:"),
        ("Size", f"{facts.size_bytes:,} bytes{wal}"),
        ("Owner", facts.owner or "-"),
        ("Permissions", facts.permissions or "-"),
        ("SQLite version", f"{facts.sqlite_version} ({facts.sqlite_library})"),
        ("Extensions", ", ".join(facts.extensions) or "none"),
        ("Journal mode", facts.journal_mode),
        ("Page size", f"{facts.page_size:,}"),
        ("Page count", f"{facts.page_count:,}"),
        ("Freelist count", f"{facts.freelist_count:,}"),
        ("Encoding", facts.encoding),
        ("User version", str(facts.user_version)),
        ("Schema version", str(facts.schema_version)),
        ("Application id", str(facts.application_id)),
        ("Tables", str(counts.tables)),
        ("Views", str(counts.views)),
        ("Indexes", str(counts.indexes)),
        ("Triggers", str(counts.triggers)),
        ("Virtual tables", str(counts.virtual_tables)),
        ("Internal objects", str(counts.internal)),
    ]
