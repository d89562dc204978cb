"""What a PostgreSQL `json` backup cannot rebuild, found from its structure alone.

`backup --format json` asks before it writes anything, so that no one holds a backup
that cannot be restored; `restore` asks again before it creates anything, for a backup
written by an older dbinspect.
"""

from __future__ import annotations

from typing import Any

OTHER_FORMATS = "back up with --format sql or custom"


def unrestorable(structure: dict[str, list[dict[str, Any]]]) -> str | None:
    """The first object a JSON restore cannot rebuild, and why, as one line; or None.

    A function without a definition (`pg_get_functiondef` writes none for aggregates and
    window functions), a foreign table (its server and options are not read), and an
    object whose definition was not read (locked by another session at backup time).
    """
    for group in structure.values():
        for entry in group:
            if entry.get("error"):
                return f"{_label(entry)}: its definition could not be read ({entry['error']})"
    for function in structure.get("functions", []):
        if function.get("definition") is None:
            return f"{_label(function, function.get('kind', 'function'))}: {_CANNOT}"
    for table in structure.get("tables", []):
        if table.get("kind") == "foreign table":
            return f"{_label(table, 'foreign table')}: {_CANNOT}"
    return None


_CANNOT = "a JSON backup cannot rebuild it"


def _label(entry: dict[str, Any], kind: str = "") -> str:
    name = f"{entry['schema']}.{entry['name']}" if entry.get("schema") else str(entry["name"])
    return f"{kind} {name}" if kind else name
