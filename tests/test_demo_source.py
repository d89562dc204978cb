"""The demo builds from the package's own sample migrations, whatever the user adds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dbinspect.ops.demo import SAMPLE_MIGRATIONS

ROOT = Path(__file__).resolve().parent.parent


def test_the_checkouts_migrations_folder_is_not_the_packages() -> None:
    # `migrate add` in a checkout writes into ./migrations: never into the package.
    folder = ROOT / "migrations"
    assert folder.is_dir() and not folder.is_symlink()
    assert folder.resolve() != SAMPLE_MIGRATIONS.resolve()
    names = sorted(p.name for p in SAMPLE_MIGRATIONS.glob("*.sql"))
    assert names == sorted(p.name for p in folder.glob("*.sql"))


def test_a_failing_file_beside_the_demo_does_not_break_it(tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0006_broken.sql").write_text("CREATE TABLE broken (;\n")
    result = subprocess.run(
        [sys.executable, "-m", "dbinspect", "demo", "demo.db", "--no-open"],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Tables:" in result.stdout
