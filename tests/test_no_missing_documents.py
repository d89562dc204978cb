"""Tests that comments state facts rather than cite design documents the repository lacks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = re.compile(r"\b(?:DESIGN|SECURITY|STYLE|DEVELOPERS)\.md\b")


def test_no_source_cites_a_document_outside_the_repository() -> None:
    cited = []
    for folder in ("dbinspect", "tests", "benchmarks", "scripts"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path == Path(__file__) or not path.is_file():
                continue
            if path.suffix not in (".py", ".tcss", ".toml", ".sh", "") or "data" in path.parts:
                continue
            text = path.read_text(errors="replace")
            for number, line in enumerate(text.splitlines(), 1):
                found = DOCUMENT.search(line)
                if found and not (ROOT / found.group(0)).exists():
                    cited.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert cited == []
