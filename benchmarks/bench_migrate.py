"""Times `dbinspect migrate run` of 500 migrations against dbmate and the sqlite3 shell.

Each of the 500 reversible migrations creates a table, an index and inserts 2 rows. Every
tool starts from a new file and applies each migration in its own transaction; the sqlite3
shell runs the same SQL as one script of BEGIN/COMMIT blocks.

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

from bytecode import compile_package

REPO = Path(__file__).resolve().parents[1]
DBMATE_REFERENCE_S = 0.63
COUNT = 500
BENCH_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


# The least Python can do: each migration's statements and its tracking row in one
# transaction, nothing else. Run at both sync levels and both ways of ending a rollback
# journal, it shows what those settings cost apart from dbinspect's own work.
PYTHON_LOOP = """
import pathlib, sqlite3, sys
db, folder, sync, journal = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = sqlite3.connect(db, isolation_level=None)
conn.execute(f"PRAGMA synchronous={sync}")
conn.execute(f"PRAGMA journal_mode={journal}")
conn.execute("CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT"
             " NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success"
             " BOOLEAN NOT NULL, checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)")
for path in sorted(folder.glob("*.up.sql")):
    conn.execute("BEGIN IMMEDIATE")
    for statement in path.read_text().split(";\\n"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO _sqlx_migrations VALUES (?, '', CURRENT_TIMESTAMP, 1, x'00', -1)",
                 (int(path.name.split("_")[0]),))
    conn.execute("COMMIT")
"""


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


def rerun(command: list[str], cwd: Path, stdin: Path | None = None) -> float:
    """Wall-clock seconds of one run of `command` in `cwd`, the database's folder.

    Run there, as in a project folder: every tool looks for its config files (`.env`,
    `sqlx.toml`, `pyproject.toml`) in the working folder, and this repository's own
    `pyproject.toml` is no user's.
    """
    with open(stdin or os.devnull, "rb") as handle:
        start = time.perf_counter()
        subprocess.run(
            command,
            stdin=handle,
            stdout=subprocess.DEVNULL,
            check=True,
            env=BENCH_ENV,
            cwd=cwd,
        )
        return time.perf_counter() - start


def timed(command: list[str], db: Path, stdin: Path | None = None) -> float:
    """Wall-clock seconds of one run on a new database file."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return rerun(command, db.parent, stdin)


def dbmate_command() -> list[str] | None:
    """dbmate named by DBINSPECT_DBMATE (as `scripts/test-tools` installs it), else from
    PATH, else through npx when it is installed there; None otherwise."""
    installed = os.environ.get("DBINSPECT_DBMATE")
    if installed and os.access(installed, os.X_OK):
        return [installed]
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
    compile_package()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs per tool; the median counts")
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        sqlx, dbmate_dir, script = write_migrations(base)
        db = base / "bench.db"
        ours = [sys.executable, "-m", "dbinspect", "migrate", "run"]
        ours += ["--database-url", f"sqlite:{db}", "--source", str(sqlx)]
        tools: dict[str, tuple[list[str], Path | None]] = {"dbinspect": (ours, None)}
        if shutil.which("sqlite3"):
            tools["sqlite3"] = (["sqlite3", str(db)], script)
        dbmate = dbmate_command()
        if dbmate:
            tools["dbmate"] = (
                [
                    *dbmate, "--no-dump-schema", "--url", f"sqlite:{db}",
                    "--migrations-dir", str(dbmate_dir), "up",
                ],
                None,
            )  # fmt: skip
        for sync, journal in (("FULL", "DELETE"), ("NORMAL", "DELETE"), ("NORMAL", "TRUNCATE")):
            loop = [sys.executable, "-c", PYTHON_LOOP, str(db), str(sqlx), sync, journal]
            tools[f"loop-{sync}-{journal}"] = (loop, None)
        # Round-robin, so a slow spell of the disk falls on every tool alike.
        samples: dict[str, list[float]] = {name: [] for name in tools}
        for _ in range(runs):
            for name, (command, stdin) in tools.items():
                samples[name].append(timed(command, db, stdin))
        figures = {name: statistics.median(times) for name, times in samples.items()}
        # The same command with all 500 already applied: start-up, reading and checking
        # the folder and the tracking table, nothing to commit.
        timed(ours, db)  # a new file with every migration applied
        figures["nothing-to-do"] = statistics.median(rerun(ours, db.parent) for _ in range(runs))
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
    print(f"migrate run with all {COUNT} applied (fixed cost): {figures['nothing-to-do']:.2f} s")
    print(
        "plain Python sqlite3 loop, same SQL and tracking rows: "
        f"{figures['loop-FULL-DELETE']:.2f} s at synchronous=FULL (sqlx's default), "
        f"{figures['loop-NORMAL-DELETE']:.2f} s at NORMAL (3 syncs a migration, as dbmate), "
        f"{figures['loop-NORMAL-TRUNCATE']:.2f} s at NORMAL with the journal truncated "
        "instead of deleted (as dbinspect)"
    )


if __name__ == "__main__":
    main()
