"""Runs dbmate itself (its npm package's binary) for the round-trip tests.

`.ci/run` installs it and sets DBINSPECT_DBMATE; a dbmate on PATH works too. Where
neither is there, the tests that run dbmate skip and say why; the others never need it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from testkit import missing_tool

INSTALL = "npm install --prefix /tmp/dbinspect-dbmate dbmate@2.36.0"


def dbmate_binary() -> str | None:
    """The dbmate to run, or None."""
    configured = os.environ.get("DBINSPECT_DBMATE")
    if configured and Path(configured).exists():
        return configured
    found = shutil.which("dbmate")
    if found:
        return found
    tools = os.environ.get("DBINSPECT_TOOLS_NPM")
    if tools and (Path(tools) / "node_modules" / ".bin" / "dbmate").exists():
        return str(Path(tools) / "node_modules" / ".bin" / "dbmate")
    default = Path("/tmp/dbinspect-dbmate/node_modules/.bin/dbmate")
    return str(default) if default.exists() else None


def require_dbmate() -> str:
    """dbmate's path; skips the test, saying so, when dbmate is not installed."""
    binary = dbmate_binary()
    if binary is None:
        missing_tool(
            "dbmate is not installed, so this round trip against dbmate itself did not run "
            f"(`{INSTALL}`, or set DBINSPECT_DBMATE; scripts/test-tools installs it)"
        )
    return binary


def dbmate_url(url: str) -> str:
    """The URL as dbmate (lib/pq) takes it: no TLS on the local test server."""
    if url.startswith(("postgres://", "postgresql://")) and "sslmode=" not in url:
        return url + ("&" if "?" in url else "?") + "sslmode=disable"
    return url


def run_dbmate(url: str, folder: Path, *args: str, schema_file: Path | None = None) -> str:
    """Run `dbmate ARGS` on `url` with `folder`; its output, failing the test on an error."""
    options = ["--no-dump-schema"] if schema_file is None else ["--schema-file", str(schema_file)]
    done = subprocess.run(
        [
            require_dbmate(),
            "--url",
            dbmate_url(url),
            "--migrations-dir",
            str(folder),
            *options,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
