"""What "the same database" means for backup and restore, read from SQLite itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbinspect.sqlite_driver import dbapi as sqlite3


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def snapshot(path: Path) -> dict[str, Any]:
    """Every table's `select *` rows with each value's storage class, the schema's SQL,
    and the header values a backup keeps. `sqlite_stat4` (the planner's samples, which
    only some SQLite builds keep) is left out, as backups leave it out."""
    conn = sqlite3.connect(path, timeout=30)
    conn.text_factory = lambda raw: raw.decode("utf-8", "surrogateescape")
    try:
        shadows = {r[1] for r in conn.execute("PRAGMA main.table_list") if r[2] == "shadow"}
        schema = sorted(
            conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_schema"
                " WHERE sql NOT NULL AND name != 'sqlite_stat4'"
            )
        )
        tables: dict[str, Any] = {}
        for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'"):
            if name in shadows or name == "sqlite_stat4":
                continue
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({quote(name)})")]
            types = ", ".join(f"typeof({quote(c)})" for c in columns)
            tables[name] = conn.execute(f"SELECT *, {types} FROM {quote(name)}").fetchall()
        pragmas = [
            conn.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("user_version", "application_id", "encoding")
        ]
        return {"schema": schema, "tables": tables, "pragmas": pragmas}
    finally:
        conn.close()
