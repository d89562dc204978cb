"""Creates new migration files, named and versioned as `sqlx migrate add` does."""

from __future__ import annotations

import os
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dbinspect.config import SqlxSettings
from dbinspect.errors import ConfigError, MigrationError, MigrationSourceError
from dbinspect.migrate.records import Migration
from dbinspect.migrate.source import DEFAULT_SETTINGS, load_migrations

_TIMESTAMP = "%Y%m%d%H%M%S"
_I64_MAX = 2**63 - 1
_NAME_MAX_BYTES = 255
"""The longest file name most file systems take (ext4, APFS, NTFS in UTF-16 units)."""
_SEPARATORS = ("/", "\\")
"""`\\` too: a file named `a\\b.sql` is a path on Windows, where the folder may be checked out."""
_NAME_HINT = (
    "use letters, digits, spaces and underscores, e.g. `dbinspect migrate add create_users`"
)


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_control(char: str) -> bool:
    # C0/C1 controls (newline and tab included) and line and paragraph separators split
    # or hide part of the file name wherever it is listed; bidi embeddings, overrides and
    # isolates make it read differently from what it is.
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in _BIDI_CONTROLS


def name_part(description: str) -> str:
    """The part of the file name after `<version>_`: spaces become `_`, as sqlx does.

    Raises:
        MigrationError: The name is blank, is not UTF-8, holds a control character, or a
            path separator (sqlx would write outside the folder, or fail half way).
    """
    if not description.strip():
        raise MigrationError("the migration name is empty", _NAME_HINT)
    undecodable = next((char for char in description if "\ud800" <= char <= "\udfff"), None)
    if undecodable is not None:
        # A byte that was not UTF-8 (decoded with surrogateescape): the file's name could
        # be made, but sqlx and every later command read migration names as UTF-8.
        raise MigrationError(
            f"the migration name is not valid UTF-8 (the byte \\x{ord(undecodable) & 0xFF:02x})",
            _NAME_HINT,
        )
    control = next((char for char in description if _is_control(char)), None)
    if control is not None:
        raise MigrationError(
            f"the migration name contains a control character (U+{ord(control):04X})",
            _NAME_HINT,
        )
    if any(separator in description for separator in _SEPARATORS):
        raise MigrationError(
            f"the migration name {description!r} contains a path separator, so the file "
            "would not be in the migrations folder",
            _NAME_HINT,
        )
    return description.replace(" ", "_")


def _fits_i64(version: int) -> int:
    if version > _I64_MAX:
        raise MigrationError(
            f"no version after {version - 1} fits in a 64-bit integer",
            "sqlx stores versions as BIGINT; renumber the newest migration",
        )
    return version


def _timestamp_after(newest: int | None, now: datetime) -> str:
    """A UTC timestamp version, past `newest` when a migration exists from this second."""
    stamp = now.strftime(_TIMESTAMP)
    if newest is None or int(stamp) > newest:
        return stamp
    # The newest file was added this same second (or carries a later clock's time): take
    # the second after it, so `add a && add b` gives two versions, not a duplicate.
    try:
        after = (datetime.strptime(str(newest), _TIMESTAMP) + timedelta(seconds=1)).strftime(
            _TIMESTAMP
        )
    except (ValueError, OverflowError):  # not a timestamp: just the next integer
        after = ""
    if not after or int(after) <= newest:
        return str(_fits_i64(newest + 1))
    return after


def next_version(
    migrations: list[Migration],
    *,
    timestamp: bool,
    sequential: bool,
    now: datetime | None = None,
) -> str:
    """The version prefix of a new migration, inferred from the existing ones as sqlx does.

    Sequential (4 digits) when asked, or when the two newest versions differ by 1, or
    when the only one is 0 or 1; otherwise a UTC timestamp `%Y%m%d%H%M%S`. Always past
    the newest existing version: sqlx would reuse a timestamp within the same second,
    and every later command then fails on the duplicate.
    """
    if timestamp and sequential:
        raise ConfigError("--timestamp and --sequential exclude each other")
    versions = sorted({m.version for m in migrations})
    newest = versions[-1] if versions else None
    now = now or datetime.now(UTC)
    if timestamp:
        return _timestamp_after(newest, now)
    inferred = None
    if len(versions) >= 2 and versions[-1] - versions[-2] == 1:
        inferred = versions[-1] + 1
    elif len(versions) == 1 and versions[0] in (0, 1):
        inferred = versions[0] + 1
    if sequential:
        inferred = versions[-1] + 1 if versions else 1
    if inferred is None:
        return _timestamp_after(newest, now)
    return f"{_fits_i64(inferred):04}"


def _existing(folder: Path, settings: SqlxSettings) -> list[Migration]:
    """The folder's migrations; none when it does not exist yet (`add` creates it)."""
    try:
        os.stat(folder)
    except FileNotFoundError:
        return []
    except OSError as error:  # e.g. a symbolic link loop
        raise MigrationSourceError(f"{folder}: cannot read: {error.strerror}") from error
    return load_migrations(folder, settings)


def _file_names(stem: str, reversible: bool) -> dict[str, str]:
    """Each new file's name and starting text.

    Raises:
        MigrationError: A name too long for the file system, or one the folder would
            read back as something else (`add x.down` makes `<v>_x.down.sql`: a down file
            without its up file, which every later command refuses).
    """
    if reversible:
        contents = {
            f"{stem}.up.sql": "-- Add up migration script here\n",
            f"{stem}.down.sql": "-- Add down migration script here\n",
        }
    else:
        if stem.endswith((".up", ".down")):
            raise MigrationError(
                f"{stem}.sql would be read as half of a reversible migration "
                f"(its name ends in .{stem.rsplit('.', 1)[1]})",
                "do not end the name with .up or .down; pass -r for an up/down pair",
            )
        contents = {f"{stem}.sql": "-- Add migration script here\n"}
    for name in contents:
        size = len(name.encode("utf-8"))
        if size > _NAME_MAX_BYTES:
            raise MigrationError(
                f"the migration name is too long: its file name would be {size} bytes, "
                f"over the {_NAME_MAX_BYTES} that file systems allow",
                "choose a shorter name",
            )
    return contents


def _write_new(folder: Path, contents: dict[str, str]) -> list[Path]:
    """Create each file exclusively; on a failure, remove the ones this call created."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MigrationError(
            f"{folder}: cannot create the migrations folder: {error.strerror}"
        ) from error
    created: list[Path] = []
    for name, text in contents.items():
        path = folder / name
        try:
            with path.open("x", encoding="utf-8", newline="") as handle:
                created.append(path)
                handle.write(text)
        except OSError as error:
            for done in created:
                done.unlink(missing_ok=True)
            if isinstance(error, FileExistsError):
                raise MigrationError(f"{path} already exists", "choose another name") from error
            raise MigrationError(f"{path}: cannot create: {error.strerror}") from error
    return created


def add_migration(
    folder: Path,
    description: str,
    *,
    reversible: bool | None = None,
    timestamp: bool = False,
    sequential: bool = False,
    settings: SqlxSettings = DEFAULT_SETTINGS,
) -> list[Path]:
    """Create a new migration file (or an up/down pair) named as `sqlx migrate add` does.

    Every check runs before anything is written: a refused name creates no file and no
    folder.

    Args:
        reversible: Make an `.up.sql`/`.down.sql` pair; None infers it from the newest
            existing migration, as sqlx does.

    Returns:
        The created files.

    Raises:
        MigrationError: A name that cannot make a file in the folder, or a file that
            exists or cannot be created.
    """
    part = name_part(description)
    migrations = _existing(folder, settings)
    if reversible is None:
        reversible = bool(migrations) and migrations[-1].kind == "reversible"
    prefix = next_version(migrations, timestamp=timestamp, sequential=sequential)
    return _write_new(folder, _file_names(f"{prefix}_{part}", reversible))


def new_reversible_pair(
    folder: Path,
    description: str,
    *,
    timestamp: bool = False,
    sequential: bool = False,
    settings: SqlxSettings = DEFAULT_SETTINGS,
) -> tuple[Path, Path]:
    """The `.up.sql` and `.down.sql` paths `add_migration -r` would create now (none written).

    Raises:
        MigrationError: As `add_migration`, for a name that cannot make a file.
    """
    part = name_part(description)
    prefix = next_version(_existing(folder, settings), timestamp=timestamp, sequential=sequential)
    up, down = _file_names(f"{prefix}_{part}", True)
    return folder / up, folder / down


def write_reversible_pair(up: Path, down: Path, up_sql: str, down_sql: str) -> list[Path]:
    """Create the pair from `new_reversible_pair` with the given texts, both or neither."""
    return _write_new(up.parent, {up.name: up_sql, down.name: down_sql})
