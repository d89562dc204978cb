"""SIGKILL at random moments of backup and restore leaves the old or the new, never a mix."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from testkit import MakeDb

from dbinspect.ops import backup as backup_module
from dbinspect.ops import restore as restore_module
from dbinspect.url import parse_url
from ops.dbcompare import snapshot

RUNS = 30  # of each: backup and restore

SCRIPT = """
CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB, w TEXT);
CREATE INDEX ix ON t(w);
WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 1500)
INSERT INTO t(v, w) SELECT randomblob(600), hex(randomblob(20)) || '{tag}' FROM r;
"""


def in_child(work: Callable[[], object]) -> int:
    """Fork; the child does `work` with the copy made a few pages per step (so a kill
    can land between steps) and exits; returns its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            backup_module.PAGES_PER_STEP = 8
            restore_module.PAGES_PER_STEP = 8  # type: ignore[attr-defined]
            work()
        finally:
            os._exit(0)
    return pid


def duration(work: Callable[[], object]) -> float:
    start = time.monotonic()
    os.waitpid(in_child(work), 0)
    return time.monotonic() - start


def kill_at_random(work: Callable[[], object], longest: float, rng: random.Random) -> None:
    pid = in_child(work)
    time.sleep(rng.uniform(0, longest))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


@pytest.mark.parametrize("fmt", ["sqlite", "json"])
def test_a_killed_backup_leaves_no_file_or_a_whole_one(
    tmp_path: Path, make_db: MakeDb, fmt: str
) -> None:
    source = make_db(tmp_path, SCRIPT.format(tag="a"))
    expected = snapshot(source)
    url = parse_url(str(source))
    target = tmp_path / f"copy.{fmt}"
    rng = random.Random(1)

    def work() -> None:
        backup_module.run_backup(url, fmt, target)  # type: ignore[arg-type]

    longest = duration(work) * 1.2
    target.unlink()
    outcomes = set()
    for _ in range(RUNS // 2):
        kill_at_random(work, longest, rng)
        if not target.exists():
            outcomes.add("none")
            continue
        outcomes.add("whole")
        if fmt == "sqlite":
            assert snapshot(target) == expected
        else:
            assert len(json.loads(target.read_text())["tables"][0]["rows"]) == 1500
        target.unlink()
    assert "none" in outcomes, outcomes  # some kills landed before the end


def test_a_killed_restore_leaves_the_old_or_the_new_database(
    tmp_path: Path, make_db: MakeDb
) -> None:
    new = make_db(tmp_path, SCRIPT.format(tag="new"), name="new.db")
    old = make_db(tmp_path, SCRIPT.format(tag="old"), name="old.db")
    old_bytes = old.read_bytes()
    expected = {"old": snapshot(old), "new": snapshot(new)}
    live = tmp_path / "live.db"
    url = parse_url(str(live))
    rng = random.Random(2)

    def work() -> None:
        restore_module.run_restore(new, url, force=True)

    def reset() -> None:
        for leftover in tmp_path.glob("live*"):
            leftover.unlink()
        live.write_bytes(old_bytes)

    reset()
    longest = duration(work) * 1.2
    seen = []
    for _ in range(RUNS):
        reset()
        kill_at_random(work, longest, rng)
        now = snapshot(live)  # opening it rolls back what a killed restore left half-done
        [state] = [name for name, content in expected.items() if content == now]
        seen.append(state)
    assert "old" in seen and "new" in seen, seen
