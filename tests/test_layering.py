"""Tests that the data layer and the command line never import Textual or Rich."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN = ("textual", "rich")


def _loaded_after(code: str) -> dict[str, bool]:
    """Run `code` in a fresh interpreter; report which forbidden packages it loaded."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        f"print(json.dumps({{name: any(m == name or m.startswith(name + '.') "
        f"for m in sys.modules) for name in {FORBIDDEN!r}}}), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, bool] = json.loads(result.stderr.strip().splitlines()[-1])
    return loaded


def test_probe_detects_an_import() -> None:
    assert _loaded_after("import textual") == {"textual": True, "rich": True}


def test_data_layer_and_cli_do_not_import_textual_or_rich() -> None:
    code = (
        "import dbinspect.backends, dbinspect.cli, dbinspect.migrate, dbinspect.ops\n"
        "import dbinspect.backends.sqlite, dbinspect.ops.info, dbinspect.ops.schema_dump\n"
        "import dbinspect.config, dbinspect.url, dbinspect.models, dbinspect.errors"
    )
    assert _loaded_after(code) == {"textual": False, "rich": False}


@pytest.mark.parametrize("flag", ["--version", "--help", "-h"])
def test_version_and_help_do_not_import_textual(flag: str) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['dbinspect', {flag!r}]\n"
        "from dbinspect.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as done:\n"
        "    assert done.code in (0, None), done.code\n"
    )
    assert _loaded_after(code) == {"textual": False, "rich": False}


@pytest.mark.parametrize("command", ["info", "schema"])
def test_command_help_does_not_import_textual(command: str) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['dbinspect', {command!r}, '--help']\n"
        "from dbinspect.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert _loaded_after(code) == {"textual": False, "rich": False}
