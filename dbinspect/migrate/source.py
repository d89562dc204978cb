"""Reads a migrations folder by sqlx's rules: names, pairs, descriptions and checksums."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path
from typing import Literal, NamedTuple

from dbinspect.config import SqlxSettings
from dbinspect.errors import MigrationSourceError
from dbinspect.migrate.records import Migration

NO_TRANSACTION_MARKER = "-- no-transaction"
_VERSION = re.compile(r"[+-]?[0-9]+")
_I64_MAX = 2**63 - 1
FileRole = Literal["simple", "up", "down"]
DEFAULT_SETTINGS = SqlxSettings()
"""No `sqlx.toml`: nothing ignored, the default table name."""


class MigrationFile(NamedTuple):
    """One `.sql` file of the folder, parsed from its name."""

    path: Path
    version: int
    description: str
    role: FileRole


def checksum(data: bytes, settings: SqlxSettings = DEFAULT_SETTINGS) -> bytes:
    """SHA-384 of a migration file, as sqlx stores it (48 raw bytes).

    Args:
        data: The file's exact bytes.
        settings: `ignored-chars` from `sqlx.toml` are removed before hashing.
    """
    if settings.ignored_chars:
        text = data.decode("utf-8")
        for char in settings.ignored_chars:
            text = text.replace(char, "")
        data = text.encode("utf-8")
    return hashlib.sha384(data).digest()


def parse_file_name(path: Path) -> MigrationFile | None:
    """Parse `<version>_<description>[.up|.down].sql`; None for a file sqlx ignores.

    Raises:
        MigrationSourceError: The part before the first `_` is not an integer.
    """
    # A name that is not UTF-8 reads as sqlx reads it (Rust's `to_string_lossy`): each
    # invalid byte becomes U+FFFD, so the description is text that SQLite can store.
    name = os.fsencode(path.name).decode("utf-8", "replace")
    prefix, underscore, rest = name.partition("_")
    if not underscore or not rest.endswith(".sql"):
        return None
    if not _VERSION.fullmatch(prefix) or not -_I64_MAX - 1 <= int(prefix) <= _I64_MAX:
        raise MigrationSourceError(
            f"{path}: the name does not start with an integer version ({prefix!r})",
            "name migrations <version>_<description>.sql, e.g. 0001_create_users.sql; "
            "sqlx refuses this file too",
        )
    role: FileRole
    suffix: str
    if rest.endswith(".up.sql"):
        role, suffix = "up", ".up.sql"
    elif rest.endswith(".down.sql"):
        role, suffix = "down", ".down.sql"
    else:
        role, suffix = "simple", ".sql"
    # sqlx uses Rust's trim_end_matches, which removes the suffix repeatedly.
    while rest.endswith(suffix):
        rest = rest[: -len(suffix)]
    return MigrationFile(path, int(prefix), rest.replace("_", " "), role)


def _read(path: Path) -> tuple[bytes, str]:
    try:
        # Unbuffered: a buffered open also asks whether each file is a terminal, which
        # doubles the cost of reading a folder of hundreds of small files.
        with open(path, "rb", buffering=0) as handle:
            data = handle.readall()
    except OSError as error:
        raise MigrationSourceError(f"{path}: cannot read: {error.strerror}") from error
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MigrationSourceError(
            f"{path}: not UTF-8 (invalid byte at offset {error.start})",
            "save the file as UTF-8; sqlx cannot read it either",
        ) from error


def _check_folder(folder: Path) -> None:
    # A stat, not is_dir(): that says False for a symbolic link loop or an unreadable
    # parent, and the folder would be reported missing instead of the real cause.
    try:
        info = os.stat(folder)
    except FileNotFoundError:
        raise MigrationSourceError(
            f"migrations folder not found: {folder}",
            "pass --source DIR, or create it with `dbinspect migrate add NAME`",
        ) from None
    except OSError as error:
        raise MigrationSourceError(f"{folder}: cannot read: {error.strerror}") from error
    if not stat.S_ISDIR(info.st_mode):
        raise MigrationSourceError(
            f"the migrations path is not a folder: {folder}", "pass --source DIR"
        )


def _list_files(folder: Path) -> list[MigrationFile]:
    _check_folder(folder)
    try:
        # scandir knows each entry's type without a stat per file (symlinks aside).
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        raise MigrationSourceError(f"{folder}: cannot read: {error.strerror}") from error
    files = []
    for entry in entries:
        parsed = parse_file_name(Path(entry.path))
        if parsed is None:
            continue
        try:
            is_file = entry.is_file()  # follows symlinks, as sqlx does
        except OSError as error:
            raise MigrationSourceError(f"{entry.path}: cannot read: {error.strerror}") from error
        if not is_file:
            if entry.is_symlink() and not os.path.exists(entry.path):
                raise MigrationSourceError(f"{entry.path}: broken symbolic link")
            continue
        files.append(parsed)
    return files


def _duplicate(version: int, first: Path, second: Path) -> MigrationSourceError:
    return MigrationSourceError(
        f"duplicate migration version {version}: {first.name} and {second.name}",
        "give each migration its own version (sqlx would silently run both)",
    )


def load_migrations(folder: Path, settings: SqlxSettings = DEFAULT_SETTINGS) -> list[Migration]:
    """Read every migration of `folder`, sorted by version.

    Args:
        folder: The migrations folder (not searched recursively).
        settings: `sqlx.toml` settings; `ignored-chars` changes the checksums.

    Raises:
        MigrationSourceError: A name without an integer version, a non-UTF-8 file, a
            duplicate version, a down file without its up file, or no such folder.
    """
    ups: dict[int, MigrationFile] = {}
    downs: dict[int, MigrationFile] = {}
    for file in _list_files(folder):
        table = downs if file.role == "down" else ups
        if file.version in table:
            raise _duplicate(file.version, table[file.version].path, file.path)
        table[file.version] = file
    migrations = []
    for version in sorted(ups):
        up = ups[version]
        data, text = _read(up.path)
        down = downs.pop(version, None)
        if up.role == "simple" and down is not None:
            raise _duplicate(version, up.path, down.path)
        down_text = _read(down.path)[1] if down is not None else None
        migrations.append(
            Migration(
                version=version,
                description=up.description,
                kind="simple" if up.role == "simple" else "reversible",
                up_sql=text,
                down_sql=down_text,
                checksum=checksum(data, settings),
                no_transaction=text.startswith(NO_TRANSACTION_MARKER),
                path=up.path,
                down_path=down.path if down is not None else None,
            )
        )
    if downs:
        orphan = downs[min(downs)]
        raise MigrationSourceError(
            f"{orphan.path.name}: down file without its up file",
            f"add {orphan.version}_<description>.up.sql or remove the down file",
        )
    return migrations
