"""The reference the PostgreSQL figures are printed beside: harlequin with its PostgreSQL adapter.

harlequin 2.17 and harlequin-postgres 1.5.2 are the versions the reference figures were
measured with. They live in a venv of their own under benchmarks/.cache/ so that their
dependencies (duckdb, pyarrow, pinned plug-ins) never mix with dbinspect's.

Usage: python benchmarks/harlequin_env.py
(prints the command that starts harlequin, building the venv first if it is missing)
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
VENV = CACHE / "harlequin-venv"
REQUIREMENTS = ["harlequin==2.17.*", "harlequin-postgres==1.5.2"]


def harlequin() -> list[str]:
    """The command that starts harlequin, installing it into its own venv the first time."""
    python, script = VENV / "bin" / "python", VENV / "bin" / "harlequin"
    if not script.exists():
        # Built beside the final path and renamed at the end, so that an interrupted
        # install is never taken for a complete one.
        partial = CACHE / "harlequin-venv.partial"
        shutil.rmtree(partial, ignore_errors=True)
        CACHE.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(partial)], check=True)
        pip = [str(partial / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--disable-pip-version-check", *REQUIREMENTS], check=True)
        partial.rename(VENV)
    # The script's shebang names the partial path the venv was built under, so the
    # venv's interpreter runs it explicitly.
    return [str(python), str(script)]


def version() -> str:
    """The installed harlequin and harlequin-postgres versions, for the report's header."""
    python = VENV / "bin" / "python"
    code = (
        "from importlib.metadata import version as v;"
        "print('harlequin', v('harlequin'), '+ harlequin-postgres', v('harlequin-postgres'))"
    )
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


if __name__ == "__main__":
    print(shlex.join(harlequin()))
    print(version())
