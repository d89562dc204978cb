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


DRIVERS = ("sqlite3", "_sqlite3", "sqlean", "aiosqlite", "psycopg")
DRIVER_MODULES = ("dbinspect.sqlite_driver", "dbinspect.pg_driver")


def test_policy_and_row_browser_load_no_database_driver() -> None:
    # The migration policy, the store seam and the row browser decide; drivers only do.
    code = (
        "import json, sys\n"
        "import dbinspect.migrate.migrator, dbinspect.migrate.cancellation\n"
        "import dbinspect.migrate.store, dbinspect.migrate.runner, dbinspect.migrate.dialect\n"
        "import dbinspect.migrate.pg_dialect, dbinspect.migrate.sqlite_dialect\n"
        "import dbinspect.browse.browser, dbinspect.browse.window, dbinspect.browse.protocol\n"
        f"drivers = {DRIVERS!r}; modules = {DRIVER_MODULES!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "    if m.split('.')[0] in drivers or m in modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_the_app_imports_no_database_driver_itself() -> None:
    # The TUI reaches databases through backends and the engine, never a driver.
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "dbinspect"
    offenders = []
    for path in sorted((package / "tui").rglob("*.py")) + sorted(
        (package / "browse").rglob("*.py")
    ):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if name.split(".")[0] in DRIVERS or name in DRIVER_MODULES:
                    offenders.append(f"{path.relative_to(package)}: {name}")
    assert offenders == []


def test_only_the_postgresql_driver_module_imports_psycopg() -> None:
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "dbinspect"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path == package / "pg_driver.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            offenders += [
                f"{path.relative_to(package)}: {n}" for n in names if n.split(".")[0] == "psycopg"
            ]
    assert offenders == []
