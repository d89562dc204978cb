"""Turns other tools' histories into the lines `migrate info` and `info` print, and JSON.

The values come from the database and from file names: every line is escaped here
(`escape_controls`), and the JSON is escaped by the caller (`escape_json`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbinspect.migrate.foreign.records import ForeignHistory, HistoryEntry
from dbinspect.textsafe import escape_controls


def _clean(value: str) -> str:
    return escape_controls(value)


def summary(history: ForeignHistory) -> str:
    """One line: `golang-migrate (schema_migrations): head 3, dirty`."""
    applied = sum(1 for e in history.entries if e.state == "applied")
    parts = [f"head {history.head}" if history.head is not None else "nothing applied"]
    if applied:
        parts.append(f"{applied} applied")
    if history.pending:
        parts.append(f"{len(history.pending)} pending")
    if history.state != "clean":
        parts.append(history.state)
    if history.locks:
        parts.append(f"{len(history.locks)} lock row{'s' if len(history.locks) > 1 else ''}")
    return _clean(f"{history.tool} ({history.table}): " + ", ".join(parts))


def entry_line(entry: HistoryEntry) -> str:
    """`3/applied create_users 2024-01-01 10:00:00 (batch 1)`, escaped."""
    text = f"{entry.version}/{entry.state}"
    if entry.name and entry.name != entry.version:
        text += f" {entry.name}"
    if entry.applied_at:
        text += f" at {entry.applied_at}"
    if entry.detail:
        text += f" ({entry.detail})"
    return _clean(text)


def history_lines(
    history: ForeignHistory, cwd: Path | None = None, *, max_entries: int | None = None
) -> list[str]:
    """Every line `migrate info` prints for one tool, escaped.

    `max_entries` keeps the latest entries only (the panes), saying how many are left out.
    """
    lines = [summary(history)]
    entries = history.entries
    if max_entries is not None and len(entries) > max_entries:
        lines.append(f"  … {len(entries) - max_entries} earlier entries")
        entries = entries[-max_entries:]
    lines += [f"  {entry_line(entry)}" for entry in entries]
    lines += [
        f"  {_clean(p.version)}/pending {_clean(_shown(p.path, cwd))}" for p in history.pending
    ]
    lines += [f"  problem: {_clean(problem)}" for problem in history.problems]
    lines += [f"  lock: {_clean(lock)}" for lock in history.locks]
    lines += [f"  note: {_clean(note)}" for note in history.notes]
    if history.folder is not None:
        lines.append(f"  folder: {_clean(_shown(history.folder, cwd))}")
    return lines


def _shown(path: Path, cwd: Path | None) -> str:
    if cwd is not None:
        try:
            return str(path.relative_to(cwd))
        except ValueError:
            pass
    return str(path)


def history_json(history: ForeignHistory) -> dict[str, Any]:
    """One tool's history as a JSON object (raw values: escape the document)."""
    return {
        "tool": history.tool,
        "table": history.table,
        "head": history.head,
        "state": history.state,
        "applied": [
            {
                "version": e.version,
                "name": e.name,
                "applied_at": e.applied_at,
                "state": e.state,
                "detail": e.detail,
            }
            for e in history.entries
        ],
        "pending": [{"version": p.version, "path": str(p.path)} for p in history.pending],
        "problems": list(history.problems),
        "locks": list(history.locks),
        "notes": list(history.notes),
        "siblings": list(history.siblings),
        "folder": str(history.folder) if history.folder is not None else None,
    }
