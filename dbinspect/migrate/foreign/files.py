"""Reads the versions of other tools' migration files from their names.

Each pattern is the tool's own (quoted from its source), so that a file dbinspect lists
as pending is one the tool would apply:

- dbmate: `^(\\d+).*\\.sql$` (pkg/dbmate/db.go, `migrationFileRegexp`);
- golang-migrate: `^([0-9]+)_(.*)\\.(down|up)\\.(.*)$` (source/parse.go), up files only;
- goose: `<version>_<name>.sql` or `.go`, the version an integer (goose's `NumericComponent`);
- Flyway: `V<version>__<description>.sql`, the version's parts split on `.` or `_`;
- Diesel: a folder `<version>_<name>` holding `up.sql`, the version being the part before
  the first `_` without its dashes (migrations_internals' `version_from_string`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from dbinspect.migrate.foreign.records import PendingFile

DBMATE_FILE = re.compile(r"^(\d+).*\.sql$")
GOLANG_MIGRATE_FILE = re.compile(r"^([0-9]+)_(.*)\.(down|up)\.(.*)$")
GOOSE_FILE = re.compile(r"^(\d+)_.*\.(sql|go)$")
FLYWAY_FILE = re.compile(r"^V([0-9][0-9._]*?)__.*\.sql$")

FileVersions = Callable[[Path], list[tuple[str, Path]]]
"""A folder's migration files as (version as the tool records it, path), in file order."""


def _files(folder: Path) -> list[Path]:
    try:
        return sorted(entry for entry in folder.iterdir() if entry.is_file())
    except OSError:
        return []


def dbmate_files(folder: Path) -> list[tuple[str, Path]]:
    """dbmate: the leading digits of every `.sql` file."""
    return [(m.group(1), p) for p in _files(folder) if (m := DBMATE_FILE.match(p.name))]


def golang_migrate_files(folder: Path) -> list[tuple[str, Path]]:
    """golang-migrate: the version of every up file, as the integer it stores."""
    found = []
    for path in _files(folder):
        match = GOLANG_MIGRATE_FILE.match(path.name)
        if match and match.group(3) == "up":
            found.append((str(int(match.group(1))), path))
    return found


def goose_files(folder: Path) -> list[tuple[str, Path]]:
    """goose: the integer before the first `_` of every `.sql` or `.go` file."""
    found = []
    for path in _files(folder):
        match = GOOSE_FILE.match(path.name)
        if match and not path.name.endswith("_test.go"):
            found.append((str(int(match.group(1))), path))
    return found


def flyway_version(text: str) -> tuple[int, ...]:
    """A Flyway version as the tuple it compares by (`1.10` is above `1.9`)."""
    return tuple(int(part) for part in re.split(r"[._]", text) if part.isdigit())


def flyway_files(folder: Path) -> list[tuple[str, Path]]:
    """Flyway: the version of every versioned `V...__` file, with dots as Flyway shows it."""
    found = []
    for path in sorted(folder.rglob("V*__*.sql")) if folder.is_dir() else []:
        match = FLYWAY_FILE.match(path.name)
        if match:
            found.append((match.group(1).replace("_", "."), path))
    return sorted(found, key=lambda item: flyway_version(item[0]))  # the order Flyway runs


def diesel_files(folder: Path) -> list[tuple[str, Path]]:
    """Diesel: one folder per migration, holding `up.sql`."""
    try:
        entries = sorted(entry for entry in folder.iterdir() if (entry / "up.sql").is_file())
    except OSError:
        return []
    return [(entry.name.split("_")[0].replace("-", ""), entry) for entry in entries]


def pending(
    files: Iterable[tuple[str, Path]], is_applied: Callable[[str], bool]
) -> tuple[PendingFile, ...]:
    """The files whose version `is_applied` says is not applied, in file order."""
    return tuple(PendingFile(version, path) for version, path in files if not is_applied(version))
