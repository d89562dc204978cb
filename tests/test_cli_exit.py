"""Every way a command can end is one line and a status: a full device, a closed pipe, Ctrl+C."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_text import clean_env

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_MIGRATIONS = ROOT / "dbinspect" / "sample_migrations"
PACKAGE = b"| dbinspect"
"""How the `-X importtime` line for the package itself ends."""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A folder with `app.db` (two tables) and the sample migrations in `migrations/`."""
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.executescript("CREATE TABLE a (x); CREATE TABLE b (y);")
    conn.close()
    shutil.copytree(SAMPLE_MIGRATIONS, tmp_path / "migrations")
    return tmp_path


COMMANDS = {
    "info": ["info", "app.db"],
    "info --json": ["info", "--json", "app.db"],
    "schema": ["schema", "app.db"],
    "migrate info": ["migrate", "info", "-D", "sqlite:app.db", "--source", "migrations"],
    "--help": ["--help"],
}


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("name", COMMANDS)
def test_output_to_a_full_device_is_one_error_line(workdir: Path, name: str) -> None:
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [sys.executable, "-m", "dbinspect", *COMMANDS[name]],
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=clean_env(),
            timeout=30,
            check=False,
        )
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert stderr.splitlines() == [stderr.strip()], stderr  # one line, no "Exception ignored"
    assert stderr.startswith("error: ") and "No space left on device" in stderr


def test_a_reader_that_goes_away_ends_the_command_quietly(workdir: Path) -> None:
    conn = sqlite3.connect(workdir / "app.db")  # a schema far larger than a pipe holds
    conn.executescript(
        "BEGIN;" + "".join(f"CREATE TABLE t{n} (x);" for n in range(6000)) + "COMMIT;"
    )
    conn.close()
    command = [sys.executable, "-m", "dbinspect", "schema", "app.db"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir, env=clean_env()
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.read(10)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=30) == 1
    assert stderr == ""


def interrupt_early(args: list[str], cwd: Path, delay: float) -> tuple[int, str, str]:
    """Start `dbinspect ARGS`, press Ctrl+C `delay` s after its code starts; status, out, err.

    The clock starts at the first import made by `dbinspect.__main__`, seen through
    `-X importtime` as the line after the package's own: before that the interpreter is
    starting up (site, .pth files, the package's `__init__`), and a KeyboardInterrupt
    there is Python's to report, not the program's.
    """
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "dbinspect", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=clean_env(),
    )
    assert process.stderr is not None
    early = []
    for line in process.stderr:
        early.append(line)
        if early[-2:-1] and early[-2].rstrip().endswith(PACKAGE):
            break
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    lines = (b"".join(early) + err).decode().splitlines()
    messages = [line for line in lines if not line.startswith("import time:") and line.strip()]
    return process.returncode, out.decode(), "\n".join(messages)


RUN = ["migrate", "run", "-D", "sqlite:fresh.db", "--source", "migrations"]
DELAYS = (0.0, 0.005, 0.01, 0.02, 0.035, 0.05, 0.06, 0.07, 0.085, 0.1)


@pytest.mark.parametrize(
    "args",
    [
        COMMANDS["info"],
        COMMANDS["schema"],
        COMMANDS["migrate info"],
        RUN,
        ["--version"],
    ],
    ids=["info", "schema", "migrate-info", "migrate-run", "version"],
)
def test_ctrl_c_in_the_first_100_ms_is_one_line_and_status_130(
    workdir: Path, args: list[str]
) -> None:
    for delay in DELAYS:
        for stale in workdir.glob("fresh.db*"):
            stale.unlink()
        status, out, err = interrupt_early(args, workdir, delay)
        # Either Ctrl+C came first, or the command had already finished its work.
        assert (status, err) in ((130, "error: interrupted"), (0, "")), (delay, status, err)
        if status == 0:
            assert out, delay
        if args is RUN and (workdir / "fresh.db").exists():
            conn = sqlite3.connect(workdir / "fresh.db")
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            conn.close()


LOST_IN_A_FINALIZER = """
import signal
from dbinspect.cli_exit import cleanup_on_interrupt

class PressesCtrlC:
    def __del__(self):  # Ctrl+C arriving while a finalizer runs
        signal.raise_signal(signal.SIGINT)

try:
    with cleanup_on_interrupt():
        PressesCtrlC()
        print("block done")
except KeyboardInterrupt:
    print("interrupted")
"""


def test_ctrl_c_inside_a_finalizer_still_interrupts_and_prints_nothing() -> None:
    # Python cannot raise out of a finalizer: it prints "Exception ignored" and goes on.
    result = subprocess.run(
        [sys.executable, "-c", LOST_IN_A_FINALIZER],
        capture_output=True, text=True, env=clean_env(), timeout=30, check=False,
    )  # fmt: skip
    assert (result.stdout, result.stderr) == ("block done\ninterrupted\n", "")
