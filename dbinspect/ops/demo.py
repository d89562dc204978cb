"""Builds the demo database: the sample migrations plus a few thousand seeded rows."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dbinspect import sqlite_driver as driver
from dbinspect.errors import OperationError
from dbinspect.migrate import run_migrations
from dbinspect.url import parse_url

SAMPLE_MIGRATIONS = Path(__file__).resolve().parent.parent / "sample_migrations"
"""The sample migration set, shipped inside the package."""
_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_WORDS = (
    "parser cache index schema query retry timeout migration backup cursor token session "
    "worker queue render layout theme plugin config logger metric export import widget"
).split()
_MODELS = ("gpt-large", "claude-mini", "local-7b", "coder-pro")
Row = tuple[object, ...]


def _when(rng: random.Random, spread_days: float = 60) -> str:
    moment = _EPOCH + timedelta(seconds=rng.uniform(0, spread_days * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def _rows(rng: random.Random) -> dict[str, list[Row]]:
    """Every table's rows, generated in dependency order."""
    rows: dict[str, list[Row]] = {}
    rows["workspaces"] = [
        (i, f"workspace-{name}", f"/home/dev/{name}", _when(rng, 5), _when(rng, 5))
        for i, name in enumerate(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"], 1)
    ]
    sessions: list[Row] = []
    instances: list[Row] = []
    messages: list[Row] = []
    for sid in range(1, 61):
        started = _when(rng, 50)
        status = rng.choice(["active", "paused", "closed"])
        ended = started.replace("2026-", "2027-") if status == "closed" else None
        sessions.append((sid, rng.randint(1, 6), _sentence(rng, 3), status, started, ended))
        for _ in range(rng.randint(1, 4)):
            iid = len(instances) + 1
            role = rng.choice(["planner", "coder", "reviewer", "tester"])
            state = rng.choice(["idle", "running", "done", "failed"])
            pid = rng.randint(1000, 60000)
            instances.append((iid, sid, rng.choice(_MODELS), role, pid, state, started))
            for _ in range(rng.randint(3, 14)):
                sender = rng.choice(["user", "assistant", "assistant", "tool", "system"])
                meta = (
                    json.dumps({"latency_ms": rng.randint(40, 4000)})
                    if sender == "assistant"
                    else None
                )
                text = _sentence(rng, rng.randint(4, 30))
                messages.append(
                    (len(messages) + 1, iid, sender, text, len(text) // 4, meta, _when(rng))
                )
    rows["sessions"], rows["instances"], rows["chat_messages"] = sessions, instances, messages
    rows["users"] = [
        (i, f"user{i}@example.com", f"User {i}", int(i == 1), _when(rng, 3)) for i in range(1, 41)
    ]
    rows["projects"] = [
        (
            i,
            rng.randint(1, 40),
            rng.choice([None, 1, 2, 3, 4, 5, 6]),
            f"project-{i:03d}",
            rng.choice(["python", "rust", "typescript", "go"]),
            int(rng.random() < 0.1),
            _when(rng, 10),
            _when(rng, 10),
        )
        for i in range(1, 121)
    ]
    rows["code_generations"] = [
        (
            i,
            rng.randint(1, 120),
            _sentence(rng, 8),
            f"def f{i}():\n    return {i}\n",
            rng.choice(_MODELS),
            rng.randint(200, 20000),
            rng.choice([None, 0, 1]),
            _when(rng),
        )
        for i in range(1, 801)
    ]
    rows["autosaves"] = [
        (
            i,
            rng.randint(1, 120),
            f"src/{rng.choice(_WORDS)}.py",
            rng.randbytes(rng.randint(16, 512)),
            _when(rng),
        )
        for i in range(1, 401)
    ]
    rows["project_analyses"] = [
        (
            i,
            rng.randint(1, 120),
            rng.choice(["complexity", "coverage", "security", "style"]),
            round(rng.uniform(0, 100), 1),
            json.dumps({"files": rng.randint(1, 300)}),
            _when(rng),
        )
        for i in range(1, 301)
    ]
    docs: list[Row] = []
    for i in range(1, 201):
        docs.append(
            (
                i,
                rng.randint(1, 120),
                _sentence(rng, 4),
                f"docs/{i:03d}.md",
                rng.choice(["spec", "design", "adr", "api", "note"]),
                _when(rng),
            )
        )
    rows["document_references"] = docs
    deps = {(rng.randint(1, 200), rng.randint(1, 200)) for _ in range(300)}
    rows["document_dependencies"] = sorted((a, b) for a, b in deps if a != b)
    rows["inconsistencies"] = [
        (
            i,
            rng.randint(1, 200),
            rng.choice(["low", "medium", "high", "critical"]),
            _sentence(rng, 10),
            int(rng.random() < 0.4),
            _when(rng),
        )
        for i in range(1, 251)
    ]
    rows["recommendations"] = [
        (
            i,
            rng.choice([None, rng.randint(1, 250)]),
            rng.randint(1, 120),
            _sentence(rng, 12),
            rng.randint(1, 5),
            _when(rng),
        )
        for i in range(1, 201)
    ]
    rows["decisions"] = [
        (
            i,
            rng.randint(1, 200),
            rng.randint(1, 120),
            rng.choice(["accepted", "rejected", "deferred"]),
            _sentence(rng, 9),
            rng.randint(1, 40),
            _when(rng),
        )
        for i in range(1, 151)
    ]
    files: list[Row] = []
    for i in range(1, 601):
        path = f"src/{rng.choice(_WORDS)}/{rng.choice(_WORDS)}_{i}.py"
        digest = hashlib.sha256(path.encode()).hexdigest()
        files.append(
            (
                i,
                rng.randint(1, 120),
                path,
                rng.randint(0, 90000),
                digest,
                "text/x-python",
                _when(rng),
            )
        )
    rows["file_metadata"] = files
    return rows


def _has_data(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0


async def build_demo(path: Path) -> None:
    """Create `path` from the sample migrations and fill it with seeded sample rows.

    Raises:
        OperationError: `path` exists and is not empty.
    """
    if _has_data(path):
        raise OperationError(
            f"{path} already exists", "choose another path or remove the file first"
        )
    await run_migrations(parse_url(str(path)), SAMPLE_MIGRATIONS)
    rows = _rows(random.Random(1))
    async with driver.connect_async(str(path), isolation_level=None) as conn:
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for table, values in rows.items():
                marks = ", ".join("?" * len(values[0]))
                await conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', values)
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
