"""Tests that a run or revert given the confirmed plan's versions runs exactly that plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from migrate_helpers import dump, tracking_rows, write_folder

from dbinspect.errors import MigrationError
from dbinspect.migrate import revert_migrations, run_migrations, runner
from dbinspect.url import DatabaseUrl


def reversible_folder(folder: Path, versions: range) -> Path:
    """One reversible migration per version, each creating a table `t<version>`."""
    files: dict[str, str | bytes] = {}
    for v in versions:
        files[f"{v}_t{v}.up.sql"] = f"CREATE TABLE t{v} (x);\n"
        files[f"{v}_t{v}.down.sql"] = f"DROP TABLE t{v};\n"
    return write_folder(folder, files)


async def test_a_run_of_the_confirmed_plan_runs(tmp_path: Path, db_url: DatabaseUrl) -> None:
    folder = reversible_folder(tmp_path / "m", range(1, 4))
    applied = await run_migrations(db_url, folder, expected_versions=[1, 2, 3])
    assert [r.version for r in applied] == [1, 2, 3]
    reverted = await revert_migrations(db_url, folder, target_version=1, expected_versions=(3, 2))
    assert [r.version for r in reverted] == [3, 2]


async def test_a_file_added_after_the_confirmation_stops_the_run(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = reversible_folder(tmp_path / "m", range(1, 3))
    await run_migrations(db_url, folder, target_version=1)
    confirmed = [r.version for r in await run_migrations(db_url, folder, dry_run=True)]
    assert confirmed == [2]
    reversible_folder(folder, range(3, 4))  # written while the confirmation was up
    before = dump(db_path)
    with pytest.raises(MigrationError) as info:
        await run_migrations(db_url, folder, expected_versions=confirmed)
    assert info.value.message == (
        "the migrations changed since you confirmed: confirmed 2, would now run 2, 3"
    )
    assert info.value.hint == "review the plan again"
    assert dump(db_path) == before
    # Without the argument the same call runs the file nobody was shown.
    assert [r.version for r in await run_migrations(db_url, folder)] == [2, 3]


def test_a_new_database_is_not_created_for_a_changed_plan(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = reversible_folder(tmp_path / "m", range(1, 3))
    with pytest.raises(MigrationError, match="confirmed 1, would now run 1, 2"):
        runner.run_migrations(db_url, folder, expected_versions=[1])
    assert not db_path.exists()


def test_a_migration_applied_elsewhere_after_the_confirmation_stops_the_run(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = reversible_folder(tmp_path / "m", range(1, 4))
    confirmed = [r.version for r in runner.run_migrations(db_url, folder, dry_run=True)]
    runner.run_migrations(db_url, folder, target_version=1)  # another process, meanwhile
    with pytest.raises(MigrationError, match="confirmed 1, 2, 3, would now run 2, 3"):
        runner.run_migrations(db_url, folder, expected_versions=confirmed)
    assert [row[0] for row in tracking_rows(db_path)] == [1]
    with pytest.raises(MigrationError, match="confirmed 1, 2, 3, would now run 2, 3"):
        runner.run_migrations(db_url, folder, dry_run=True, expected_versions=confirmed)


async def test_a_revert_of_a_changed_plan_reverts_nothing(
    tmp_path: Path, db_url: DatabaseUrl, db_path: Path
) -> None:
    folder = reversible_folder(tmp_path / "m", range(1, 4))
    await run_migrations(db_url, folder)
    confirmed = [r.version for r in await revert_migrations(db_url, folder, dry_run=True)]
    assert confirmed == [3]
    await revert_migrations(db_url, folder)  # another process reverted 3 meanwhile
    before = dump(db_path)
    with pytest.raises(MigrationError, match="confirmed 3, would now run 2"):
        await revert_migrations(db_url, folder, expected_versions=confirmed)
    assert dump(db_path) == before
    assert [row[0] for row in tracking_rows(db_path)] == [1, 2]


async def test_a_plan_emptied_since_the_confirmation_is_named(
    tmp_path: Path, db_url: DatabaseUrl
) -> None:
    folder = reversible_folder(tmp_path / "m", range(1, 2))
    await run_migrations(db_url, folder)
    with pytest.raises(MigrationError, match="confirmed 1, would now run nothing"):
        await run_migrations(db_url, folder, expected_versions=[1])
