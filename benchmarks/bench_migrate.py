"""Times `dbinspect migrate run` of 500 migrations against dbmate and the sqlite3 shell.

Each of the 500 reversible migrations creates a table, an index and inserts 2 rows
(DESIGN.md section 6). Every tool starts from a new file and applies each migration in its
own transaction; the sqlite3 shell runs the same SQL as one script of BEGIN/COMMIT blocks.

    python benchmarks/bench_migrate.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DBMATE_REFERENCE_S = 0.63
COUNT = 500


def write_migrations(base: Path, count: int = COUNT) -> tuple[Path, Path, Path]:
    """Write the set as sqlx files, dbmate files and one sqlite3 script."""
    sqlx, dbmate, script = base / "mig_sqlx", base / "mig_dbmate", base / "mig_raw.sql"
    sqlx.mkdir()
    dbmate.mkdir()
    chunks = []
    for i in range(1, count + 1):
        up = (
            f"CREATE TABLE m{i} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "created_at TEXT DEFAULT CURRENT_TIMESTAMP);\n"
            f"CREATE INDEX ix_m{i}_name ON m{i}(name);\n"
            f"INSERT INTO m{i}(name) VALUES ('x'),('y');\n"
        )
        down = f"DROP TABLE m{i};\n"
        version = 20260101000000 + i
        (sqlx / f"{version}_create_m{i}.up.sql").write_text(up)
        (sqlx / f"{version}_create_m{i}.down.sql").write_text(down)
        (dbmate / f"{version}_create_m{i}.sql").write_text(
            f"-- migrate:up\n{up}\n-- migrate:down\n{down}"
        )
        chunks.append(f"BEGIN;\n{up}COMMIT;\n")
    script.write_text("".join(chunks))
    return sqlx, dbmate, script


def timed(command: list[str], db: Path, stdin: Path | None = None) -> float:
    """Wall-clock seconds of one run on a new database file."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(stdin or os.devnull, "rb") as handle:
        start = time.perf_counter()
        subprocess.run(command, stdin=handle, stdout=subprocess.DEVNULL, check=True, env=env)
        return time.perf_counter() - start


def dbmate_command() -> list[str] | None:
    """dbmate from PATH, else through npx when it is installed there; None otherwise."""
    if shutil.which("dbmate"):
        return ["dbmate"]
    if shutil.which("npx"):
        probe = subprocess.run(
            ["npx", "--no-install", "dbmate", "--version"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return ["npx", "--no-install", "dbmate"]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per tool; the median counts")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        sqlx, dbmate_dir, script = write_migrations(base)
        db = base / "bench.db"
        ours = [sys.executable, "-m", "dbinspect", "migrate", "run"]
        if not (REPO / "dbinspect" / "cli.py").exists():
            ours = [
                sys.executable,
                "-c",
                "from dbinspect.cli_migrate import migrate; migrate()",
                "run",
            ]
        ours += ["--database-url", f"sqlite:{db}", "--source", str(sqlx)]
        figures: dict[str, float] = {}
        figures["dbinspect"] = statistics.median(timed(ours, db) for _ in range(runs))
        if shutil.which("sqlite3"):
            shell = ["sqlite3", str(db)]
            figures["sqlite3"] = statistics.median(timed(shell, db, script) for _ in range(runs))
        dbmate = dbmate_command()
        if dbmate:
            command = [
                *dbmate, "--no-dump-schema", "--url", f"sqlite:{db}",
                "--migrations-dir", str(dbmate_dir), "up",
            ]  # fmt: skip
            figures["dbmate"] = statistics.median(timed(command, db) for _ in range(runs))
    target = figures.get("dbmate", DBMATE_REFERENCE_S)
    source = "measured" if "dbmate" in figures else "reference"
    print(
        f"migrate run {COUNT}: {figures['dbinspect']:.2f} s "
        f"(target <= dbmate {target:.2f} s, {source})"
    )
    if "dbmate" in figures:
        print(f"dbmate up {COUNT}: {figures['dbmate']:.2f} s (reference 0.63 s)")
    else:
        print("dbmate: not installed (npm install -g dbmate to measure it here)")
    if "sqlite3" in figures:
        print(f"sqlite3 one script: {figures['sqlite3']:.2f} s (reference 0.55 s)")


if __name__ == "__main__":
    main()
