"""Read-only databases: refused in one line by migrate, detected and explained by the app.

Root ignores file modes, so the permission cases run dbinspect as `nobody`.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from backends.test_hostile_files import public_dir, run_unprivileged

from dbinspect.backends.sqlite_files import write_access_problem

__all__ = ["public_dir"]  # a fixture, used by name

SAMPLE = Path(__file__).resolve().parent.parent / "dbinspect" / "sample_migrations"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def project(public_dir: Path) -> Iterator[Path]:
    """A world-readable folder with the sample migrations and a database at version 1."""
    shutil.copytree(SAMPLE, public_dir / "migrations")
    database = public_dir / "app.db"
    done = subprocess.run(
        ["python3", "-m", "dbinspect", "migrate", "run", "--target-version", "1",
         "-D", f"sqlite:{database}", "--source", str(public_dir / "migrations")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for path in public_dir.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield public_dir


def migrate(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_unprivileged(
        "migrate", *args, "-D", f"sqlite:{project / 'app.db'}", "--source", project / "migrations"
    )


def assert_read_only_refusal(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and "read-only" in lines[0]
    assert "Traceback" not in result.stderr
    assert "fix " not in lines[0]  # never blames a migration file


@pytest.mark.parametrize(
    "args", [("run",), ("revert",), ("restamp", "1", "-y")], ids=["run", "revert", "restamp"]
)
def test_migrate_on_a_read_only_file_is_one_line(
    project: Path, args: tuple[str, ...], make_restampable: Callable[[Path], None]
) -> None:
    if args[0] == "restamp":
        make_restampable(project)
    database = project / "app.db"
    database.chmod(0o444)
    before = digest(database)
    assert_read_only_refusal(migrate(project, *args))
    assert digest(database) == before
    assert sorted(p.name for p in project.iterdir()) == ["app.db", "migrations"]


def test_migrate_in_a_read_only_folder_is_one_line(project: Path) -> None:
    database = project / "app.db"
    database.chmod(0o666)
    project.chmod(0o555)
    try:
        before = digest(database)
        assert_read_only_refusal(migrate(project, "run"))
        assert digest(database) == before
    finally:
        project.chmod(0o755)


def test_migrate_with_mode_ro_is_one_line(project: Path) -> None:
    database = project / "app.db"
    before = digest(database)
    result = run_unprivileged(
        "migrate", "run", "-D", f"sqlite:{database}?mode=ro", "--source", project / "migrations"
    )
    assert_read_only_refusal(result)
    assert digest(database) == before


@pytest.fixture
def make_restampable() -> Callable[[Path], None]:
    """Edit the applied file's line endings, so restamp has something to accept."""

    def edit(project: Path) -> None:
        first = next((project / "migrations").glob("0001_*.up.sql"))
        first.write_bytes(first.read_bytes().replace(b"\n", b"\r\n"))

    return edit


PROBE = "from dbinspect.backends.sqlite_files import write_access_problem as w; import sys"


def access_as_nobody(path: Path) -> str:
    """`write_access_problem(path)` as the unprivileged user sees it."""
    code = (
        "import os, pwd, sys\n"
        f"{PROBE}\n"
        "nobody = pwd.getpwnam('nobody')\n"
        "os.setgroups([]); os.setgid(nobody.pw_gid); os.setuid(nobody.pw_uid)\n"
        f"print(w(__import__('pathlib').Path({str(path)!r}), None))\n"
    )
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    return done.stdout.strip()


def test_write_access_is_judged_as_the_user(project: Path) -> None:
    import os

    if os.geteuid() != 0:
        pytest.skip("needs root to drop to nobody")
    database = project / "app.db"
    database.chmod(0o666)
    project.chmod(0o777)
    assert access_as_nobody(database) == "None"
    database.chmod(0o444)
    assert "file is not writable" in access_as_nobody(database)
    database.chmod(0o666)
    project.chmod(0o755)
    try:
        reason = access_as_nobody(database)
        assert "folder, where SQLite writes its journal, is not writable" in reason
    finally:
        project.chmod(0o755)
    assert write_access_problem(database, "ro") == "the URL says mode=ro"
