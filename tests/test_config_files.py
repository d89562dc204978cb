"""Tests that a config file of the wrong shape is one `error:` line naming it, never a traceback.

Each case runs the real command in a folder holding only the bad file, as a user would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

RunCli = Callable[..., subprocess.CompletedProcess[str]]
OneLineError = Callable[..., str]

COMMANDS = [("info",), ("migrate", "info")]

BAD_FILES = {
    "tool-not-a-table": ("pyproject.toml", b"tool = 5\n"),
    "tool-dbinspect-not-a-table": ("pyproject.toml", b"[tool]\ndbinspect = 5\n"),
    "pyproject-url-not-a-string": ("pyproject.toml", b"[tool.dbinspect]\ndatabase-url = 5\n"),
    "pyproject-not-utf8": ("pyproject.toml", b'[project]\nname = "\xff"\n'),
    "pyproject-not-toml": ("pyproject.toml", b"[tool.dbinspect\n"),
    "own-url-not-a-string": ("dbinspect.toml", b"database-url = 5\n"),
    "own-migrations-not-a-string": ("dbinspect.toml", b"migrations = []\n"),
    "own-not-utf8": ("dbinspect.toml", b'database-url = "sqlite:\xfe.db"\n'),
    "migrate-not-a-table": ("sqlx.toml", b"migrate = 3\n"),
    "table-name-not-a-string": ("sqlx.toml", b"[migrate]\ntable-name = 5\n"),
    "ignored-chars-not-a-list": ("sqlx.toml", b'[migrate]\nignored-chars = "\\r"\n'),
    "sqlx-not-utf8": ("sqlx.toml", b"[migrate]\n# \xc3\x28\n"),
}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_config_file_is_one_error_line(
    tmp_path: Path,
    run_cli: RunCli,
    one_line_error: OneLineError,
    command: tuple[str, ...],
    case: str,
) -> None:
    name, content = BAD_FILES[case]
    (tmp_path / name).write_bytes(content)
    args = [*command, "-D", "sqlite:app.db"] if command[0] == "migrate" else [*command, "app.db"]
    one_line_error(run_cli(*args), str(tmp_path / name))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("name", ["pyproject.toml", "dbinspect.toml", "sqlx.toml"])
def test_a_config_path_that_is_a_folder_is_one_error_line(
    tmp_path: Path,
    run_cli: RunCli,
    one_line_error: OneLineError,
    command: tuple[str, ...],
    name: str,
) -> None:
    (tmp_path / name).mkdir()
    one_line_error(run_cli(*command), str(tmp_path / name), "cannot read")


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without DATABASE_URL or dbinspect settings, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and (k == "DBINSPECT_SQLITE" or not k.startswith("DBINSPECT_"))
    }
    return {**env, **(extra or {})}


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder an unprivileged user can enter (pytest's own temp folders are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="dbinspect-config-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to run as an unprivileged user (root reads any file)",
)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("name", ["pyproject.toml", "dbinspect.toml", "sqlx.toml", ".env"])
def test_an_unreadable_config_file_is_one_error_line(
    shared_folder: Path, one_line_error: OneLineError, command: tuple[str, ...], name: str
) -> None:
    path = shared_folder / name
    path.write_text("# private\n", encoding="utf-8")
    path.chmod(0o000)
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "dbinspect",
            *command,
        ],
        cwd=shared_folder,
        env={**_clean_env(), "HOME": str(shared_folder)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    one_line_error(result, str(path), "cannot read")
