"""No module of the package imports Textual's private modules (`textual._*`).

They change without notice between Textual releases; the public API (`self.app`,
`App.current_theme`, ...) is what a widget should reach for.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dbinspect"


def private_textual_imports(source: str) -> list[str]:
    """Each import of a private Textual module or name in `source`, as written."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "textual" and any(part.startswith("_") for part in parts[1:]):
                found.append(name)
                break
    return found


def test_the_scan_finds_every_way_of_importing_a_private_module() -> None:
    assert private_textual_imports("from textual._context import active_app") == [
        "textual._context"
    ]
    assert private_textual_imports("import textual._context as c") == ["textual._context"]
    assert private_textual_imports("from textual import _context") == ["textual._context"]
    assert private_textual_imports("from textual.widgets import _data_table") == [
        "textual.widgets._data_table"
    ]
    assert private_textual_imports("from textual.app import App\nimport textual") == []
    assert private_textual_imports("from rich._loop import loop_last") == []


def test_no_module_imports_private_textual() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 50
    found = {
        str(path.relative_to(PACKAGE)): names
        for path in modules
        if (names := private_textual_imports(path.read_text("utf-8")))
    }
    assert found == {}
