"""Reads a dbmate migrations folder by dbmate's rules, and decides what to run.

dbmate keeps one file per version, `<version>_<name>.sql` (any name matching
`^(\\d+).*\\.sql$`), with a `-- migrate:up` section and a `-- migrate:down` section, and
records each applied version in `schema_migrations(version)`: no checksum, no success
flag, no time. So the refusals that table can support hold here (an applied version
with no file, two files of one version, a pending file older than an applied one), and
a changed file or a half-applied one cannot be told apart from a good one.

The parsing follows dbmate's `pkg/dbmate/migration.go` (its regular expressions,
written with ASCII classes as Go's RE2 reads them); the statuses map onto the engine's
own records, so `migrate info` and the Migrations pane show a dbmate project as they
show sqlx's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from dbinspect.errors import MigrationError, MigrationSourceError, MissingMigrationError
from dbinspect.migrate.records import AppliedMigration, Migration, MigrationStatus

TABLE = "schema_migrations"
"""dbmate's tracking table (its `--migrations-table` default)."""
MARKER = "-- migrate:up"

# Go's \s is [\t\n\f\r ] and its \d is [0-9]; Python's would also take Unicode spaces
# and digits, which dbmate does not.
_S = r"[\t\n\f\r ]"
_NS = r"[^\t\n\f\r ]"
_UP = re.compile(rf"^--{_S}*migrate:up({_S}*$|{_S}+{_NS}+)", re.MULTILINE)
_DOWN = re.compile(rf"^--{_S}*migrate:down({_S}*$|{_S}+{_NS}+)", re.MULTILINE)
_DIRECTIVE = re.compile(rf"^--{_S}*migrate:(up|down)")
_FILE = re.compile(r"([0-9]+).*\.sql")
_EMPTY_LINE = re.compile(rf"{_S}*")
_COMMENT_LINE = re.compile(rf"{_S}*--")

NOTE = (
    "dbmate records only each applied version (no checksum, no success flag): a file "
    "changed after it was applied, or one that failed half way outside a transaction, "
    "is not detected"
)
"""What `migrate info` says about a dbmate project."""


class DbmateMigration(NamedTuple):
    """One dbmate file: its version as written, and both sections."""

    migration: Migration
    """The engine's record: `up_sql`/`down_sql` are the sections, `no_transaction` the up's."""
    version_text: str
    """The version as dbmate reads and records it (leading zeros kept)."""
    down_transaction: bool
    """The down section runs in a transaction (no `transaction:false`)."""

    @property
    def up_transaction(self) -> bool:
        """The up section runs in a transaction."""
        return not self.migration.no_transaction


def _transaction(block: str) -> bool:
    """dbmate's `parseMigrationOptions(...).Transaction()` for one section."""
    first = block.split("\n", 1)[0]
    options: dict[str, str] = {}
    rest = _DIRECTIVE.sub("", first, count=1).strip()
    for pair in re.split(rf"{_S}+", rest) if rest else []:
        parts = pair.split(":")
        if len(parts) == 2:
            options[parts[0]] = parts[1]
    return options.get("transaction") != "false"


def parse_sections(text: str, name: str) -> tuple[str, str]:
    """The up and down sections of one file, each from its directive line on.

    Raises:
        MigrationSourceError: dbmate refuses the file too (its own error, named), or the
            file has several up sections (see below).
    """
    ups = list(_UP.finditer(text))
    if not ups:
        raise MigrationSourceError(
            f"{name}: dbmate requires each migration to define an up block with '-- migrate:up'"
        )
    for line in text[: ups[0].start()].split("\n"):
        if not (_EMPTY_LINE.fullmatch(line) or _COMMENT_LINE.match(line)):
            raise MigrationSourceError(
                f"{name}: dbmate does not support statements preceding the '-- migrate:up' block"
            )
    if len(ups) > 1:
        # dbmate 2.x runs each section with an insert of the same version, so its second
        # section fails on the table's primary key after the first one was committed.
        raise MigrationSourceError(
            f"{name}: {len(ups)} '-- migrate:up' sections in one file",
            "give each section its own file: dbmate records one version per file",
        )
    downs = list(_DOWN.finditer(text))
    if not downs:
        raise MigrationSourceError(
            f"{name}: dbmate requires each migration to define a down block with '-- migrate:down'"
        )
    if len(downs) > 1:
        raise MigrationSourceError(
            f"{name}: dbmate requires every '-- migrate:down' to be preceded by a '-- migrate:up'"
        )
    up_at, down_at = ups[0].start(), downs[0].start()
    if up_at > down_at:
        raise MigrationSourceError(
            f"{name}: dbmate requires '-- migrate:up' to appear before '-- migrate:down'"
        )
    return text[up_at:down_at], text[down_at:]


def _description(name: str, version: str) -> str:
    rest = name[len(version) :].removesuffix(".sql")
    return rest.lstrip("_").replace("_", " ")


def _files(folder: Path) -> list[tuple[str, str]]:
    """(file name, version) of every file dbmate reads, in dbmate's order (by name)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        raise MigrationSourceError(
            f"migrations folder not found: {folder}", "pass --source DIR"
        ) from None
    except OSError as error:
        raise MigrationSourceError(f"{folder}: cannot read: {error.strerror}") from error
    found = []
    for entry in entries:
        match = _FILE.fullmatch(entry.name)
        if match is None:
            continue
        try:
            if entry.is_dir():
                continue
        except OSError as error:
            raise MigrationSourceError(f"{entry.path}: cannot read: {error.strerror}") from error
        found.append((entry.name, match.group(1)))
    return found


def is_dbmate_folder(folder: Path) -> bool:
    """Whether the folder's first migration file holds dbmate's `-- migrate:up` marker.

    Only the first file is read: a sqlx folder never holds the marker, and a dbmate
    folder whose first file lacks it is one dbmate itself refuses.
    """
    try:
        files = _files(folder)
    except MigrationSourceError:
        return False
    if not files:
        return False
    try:
        with open(folder / files[0][0], "rb") as handle:
            head = handle.read().decode("utf-8", "replace")
    except OSError:
        return False
    return _UP.search(head) is not None


def load_dbmate(folder: Path) -> list[DbmateMigration]:
    """Every file of the folder, in dbmate's order (by file name).

    Raises:
        MigrationSourceError: No folder, a file dbmate cannot parse, a file that is not
            UTF-8, or two files of the same version.
    """
    result: list[DbmateMigration] = []
    seen: dict[int, str] = {}
    for name, version in _files(folder):
        number = int(version)
        if number in seen:
            raise MigrationSourceError(
                f"duplicate migration version {version}: {seen[number]} and {name}",
                "give each migration its own version (dbmate would run both)",
            )
        seen[number] = name
        path = folder / name
        try:
            data = path.read_bytes()
        except OSError as error:
            raise MigrationSourceError(f"{path}: cannot read: {error.strerror}") from error
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise MigrationSourceError(
                f"{path}: not UTF-8 (invalid byte at offset {error.start})"
            ) from error
        up, down = parse_sections(text, name)
        migration = Migration(
            version=number,
            description=_description(name, version),
            kind="reversible",
            up_sql=up,
            down_sql=down,
            checksum=b"",
            no_transaction=not _transaction(up),
            path=path,
            down_path=path,
        )
        result.append(DbmateMigration(migration, version, _transaction(down)))
    return result


def applied_row(version_text: str, description: str = "") -> AppliedMigration:
    """A `schema_migrations` row as the engine's record (no time, no checksum)."""
    if not version_text.isascii() or not version_text.isdigit():
        raise MigrationError(
            f"{TABLE} holds the version {version_text!r}, which no dbmate file name can have",
            f"delete that row from {TABLE} if it does not belong to a migration",
        )
    return AppliedMigration(int(version_text), description, "", True, b"", -1)


def statuses(files: list[DbmateMigration], applied: list[str]) -> list[MigrationStatus]:
    """One status per file (in dbmate's order), then each applied version with no file."""
    applied_set = set(applied)
    result = []
    texts = set()
    for file in files:
        m = file.migration
        texts.add(file.version_text)
        if file.version_text in applied_set:
            row = applied_row(file.version_text, m.description)
            result.append(MigrationStatus(m.version, m.description, "applied", m, row))
        else:
            result.append(MigrationStatus(m.version, m.description, "pending", m, None))
    for version in sorted(applied_set - texts, key=lambda v: (len(v), v)):
        row = applied_row(version)
        result.append(MigrationStatus(row.version, "", "missing", None, row))
    return result


def validate(
    status_list: list[MigrationStatus], *, ignore_missing: bool = False, ordering: bool = True
) -> None:
    """Refuse an applied version with no file (unless ignored) and, with `ordering`, a
    pending file older than an applied one.

    Raises:
        MissingMigrationError, MigrationError.
    """
    if not ignore_missing:
        for status in status_list:
            if status.status == "missing":
                raise MissingMigrationError(
                    f"migration {status.version} is applied (in {TABLE}) but its file is not "
                    "in the migrations folder",
                    "restore the file, point --source at the right folder, or pass "
                    "--ignore-missing",
                )
    if not ordering:
        return
    files = [s for s in status_list if s.migration is not None]
    last_applied = max((i for i, s in enumerate(files) if s.status == "applied"), default=-1)
    for status in files[: max(last_applied, 0)]:
        if status.status == "pending":
            newest = files[last_applied]
            assert status.migration is not None and newest.migration is not None
            raise MigrationError(
                f"migration {status.migration.path.name} is pending but older than the "
                f"applied {newest.migration.path.name}",
                "give it a version newer than every applied one (dbmate --strict refuses "
                "it too; plain dbmate would apply it out of order)",
            )


def plan_run(
    files: list[DbmateMigration], status_list: list[MigrationStatus], target: int | None
) -> list[DbmateMigration]:
    """The pending files in dbmate's order, up to `target` if given."""
    pending = {s.version for s in status_list if s.status == "pending"}
    if target is not None and not any(f.migration.version == target for f in files):
        raise MigrationError(
            f"target version {target} is not in the migrations folder",
            "pass a version listed by `dbinspect migrate info`",
        )
    return [
        f
        for f in files
        if f.migration.version in pending and (target is None or f.migration.version <= target)
    ]


def plan_revert(
    files: list[DbmateMigration], status_list: list[MigrationStatus], target: int | None
) -> list[DbmateMigration]:
    """The applied files to revert, newest first: the latest alone without a target.

    As dbmate's `rollback`, the latest is the last applied file in file-name order.
    """
    if target is not None and target != 0:
        if not any(f.migration.version == target for f in files):
            raise MigrationError(
                f"target version {target} is not in the migrations folder",
                "pass a version listed by `dbinspect migrate info`, or 0 to revert all",
            )
    applied = {s.version for s in status_list if s.status == "applied"}
    done = [f for f in reversed(files) if f.migration.version in applied]
    if target is None:
        return done[:1]
    return [f for f in done if f.migration.version > target]
