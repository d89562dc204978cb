"""Times `dbinspect backup` on the 5,000,000-row `events` database beside the sqlite3 shell.

Each backup runs as the command line runs it (a process of its own, whose peak memory and
CPU time are read from its own resource usage), in the same run as the shell's equivalent:

    backup sqlite   vs  sqlite3 db ".backup copy"   target: within 1.2x
    backup sql      vs  sqlite3 db .dump > file     target: within 1.5x
    backup json                                     target: at most 100 MB of memory

`backup sqlite` also verifies the copy with `integrity_check` before it reports success
(as the design asks), which the shell's `.backup` does not: the two parts are timed
apart as well, in this process, through the functions the command runs (`copy` beside
`.backup`, then `verify`).

`--runs N` (default 3) repeats everything and prints the median of each figure: the
machine may be shared, so the CPU seconds (user + system) are printed beside the wall
time. Uses benchmarks/data/events5000000.db (`datasets.py` builds and caches it;
`--build` builds it here); `--rows N` times a smaller table built the same way.

    python benchmarks/bench_ops.py [--build] [--rows N] [--runs N]
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
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from datasets import DATA, big_events

TARGETS = {"sqlite": 1.2, "sql": 1.5, "copy": 1.2}
JSON_MEMORY_MB = 100


class Timing:
    """One process's wall seconds, CPU seconds (user + system) and peak memory in MB."""

    def __init__(self, wall: float, cpu: float, memory: float) -> None:
        self.wall, self.cpu, self.memory = wall, cpu, memory


def timed(command: list[str], stdout: Path | None = None) -> Timing:
    """Run `command`; its wall time, CPU time and peak memory."""
    out = stdout.open("wb") if stdout is not None else subprocess.DEVNULL
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if stdout is not None:
        out.close()  # type: ignore[union-attr]
    if status != 0:
        sys.exit(f"{command[0]} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return Timing(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def copy_and_verify(database: Path, folder: Path) -> tuple[float, float]:
    """The backup API copy alone and the `integrity_check` of the copy, in seconds, as
    `backup --format sqlite` runs them."""
    from dbinspect.ops.backup import copy_into_file, integrity_problems, open_source
    from dbinspect.url import parse_url

    copy = folder / "copy-alone.sqlite"
    source = open_source(parse_url(str(database)))
    try:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_schema").fetchall()
        start = time.perf_counter()
        copy_into_file(source, copy)
        copied = time.perf_counter() - start
    finally:
        source.close()
    start = time.perf_counter()
    problems = integrity_problems(copy)
    verified = time.perf_counter() - start
    if problems:
        sys.exit(f"the copy fails integrity_check: {problems[0]}")
    return copied, verified


def one_run(database: Path, shell: str | None, tmp: Path) -> dict[str, float]:
    """Every figure of one run, by name."""
    dbinspect = [sys.executable, "-m", "dbinspect", "backup", str(database)]
    figures: dict[str, float] = {}
    for fmt in ("sqlite", "sql", "json"):
        ours = timed([*dbinspect, "--format", fmt, "-o", str(tmp / f"ours.{fmt}")])
        figures |= {f"{fmt} wall": ours.wall, f"{fmt} cpu": ours.cpu, f"{fmt} mb": ours.memory}
        line = f"  backup {fmt:<6} {ours.wall:6.2f} s (cpu {ours.cpu:5.2f})"
        line += f"  peak {ours.memory:4.0f} MB"
        if fmt in ("sqlite", "sql") and shell is not None:
            copy = tmp / f"shell.{fmt}"
            if fmt == "sqlite":
                theirs = timed([shell, str(database), f".backup '{copy}'"])
                what = '".backup"'
            else:
                theirs = timed([shell, str(database), ".dump"], stdout=copy)
                what = ".dump"
            figures |= {f"{fmt} shell wall": theirs.wall, f"{fmt} shell cpu": theirs.cpu}
            figures[f"{fmt} ratio"] = ours.wall / theirs.wall
            line += f"  | sqlite3 {what} {theirs.wall:6.2f} s (cpu {theirs.cpu:5.2f})"
            line += f"  ratio {ours.wall / theirs.wall:4.2f}x"
        print(line, flush=True)
        for leftover in tmp.iterdir():
            leftover.unlink()
        if fmt == "sqlite" and shell is not None:
            copied, verified = copy_and_verify(database, tmp)
            theirs = timed([shell, str(database), f".backup '{tmp / 'shell-again.sqlite'}'"])
            figures |= {"copy": copied, "copy shell": theirs.wall, "verify": verified}
            figures["copy ratio"] = copied / theirs.wall
            print(
                f'    of which: copy {copied:5.2f} s | sqlite3 ".backup" {theirs.wall:5.2f} s'
                f"  ratio {copied / theirs.wall:4.2f}x; verification (integrity_check)"
                f" {verified:5.2f} s",
                flush=True,
            )
            for leftover in tmp.iterdir():
                leftover.unlink()
    return figures


def verdict(ratio: float, target: float) -> str:
    return f"target {target}x: {'ok' if ratio <= target else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="build the database if missing")
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    database = DATA / f"events{args.rows}.db"
    if not database.exists():
        if not args.build and args.rows == 5_000_000:
            sys.exit(f"{database} is missing: run with --build (a few minutes)")
        database = big_events(args.rows)
    shell = shutil.which("sqlite3")
    print(f"{database.name}: {database.stat().st_size / 1e6:,.0f} MB")
    runs: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(dir=DATA) as folder:
        for number in range(1, args.runs + 1):
            print(f"run {number}:", flush=True)
            for name, value in one_run(database, shell, Path(folder)).items():
                runs[name].append(value)
    median = {name: statistics.median(values) for name, values in runs.items()}
    print(f"median of {args.runs} run(s):")
    for fmt in ("sqlite", "sql"):
        if f"{fmt} ratio" not in median:
            continue
        wall, cpu, ratio = median[f"{fmt} wall"], median[f"{fmt} cpu"], median[f"{fmt} ratio"]
        shell_wall, shell_cpu = median[f"{fmt} shell wall"], median[f"{fmt} shell cpu"]
        print(
            f"  backup {fmt:<6} {wall:6.2f} s (cpu {cpu:5.2f})"
            f"  sqlite3 {shell_wall:6.2f} s (cpu {shell_cpu:5.2f})"
            f"  ratio {ratio:4.2f}x ({verdict(ratio, TARGETS[fmt])})"
        )
        if fmt == "sqlite":
            print(
                f"    copy alone {median['copy']:5.2f} s, sqlite3 .backup"
                f" {median['copy shell']:5.2f} s, ratio {median['copy ratio']:4.2f}x"
                f" ({verdict(median['copy ratio'], TARGETS['copy'])}); verification"
                f" {median['verify']:5.2f} s"
            )
    memory = median["json mb"]
    print(
        f"  backup json   {median['json wall']:6.2f} s  peak {memory:4.0f} MB"
        f" (target <= {JSON_MEMORY_MB} MB: {'ok' if memory <= JSON_MEMORY_MB else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
