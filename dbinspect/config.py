"""Resolves the database URL, migrations folder and options from flags, env and files.

Precedence, first match wins, as DESIGN.md section 2 and sqlx-cli order them:
the positional argument, `--database-url`, `DATABASE_URL` in the environment,
`DATABASE_URL` in `./.env`, `dbinspect.toml`, then `[tool.dbinspect]` in `pyproject.toml`.

The settings are NamedTuples, immutable and cheaper to define than frozen dataclasses:
every command starts a new process and reads them first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from dbinspect.errors import ConfigError
from dbinspect.url import DatabaseUrl, parse_url

DEFAULT_MIGRATIONS_DIR = "migrations"
DEFAULT_TABLE_NAME = "_sqlx_migrations"


class SqlxSettings(NamedTuple):
    """The `[migrate]` settings of a `sqlx.toml` that change how migrations behave."""

    ignored_chars: tuple[str, ...] = ()
    """Characters removed from a file before its checksum is taken."""
    table_name: str = DEFAULT_TABLE_NAME
    """The tracking table's name."""
    migrations_dir: str | None = None
    """The folder of migrations, relative to the `sqlx.toml`."""


class MigrationsLocation(NamedTuple):
    """Where migrations come from, and whether the user asked for them explicitly."""

    path: Path
    """The folder of migration files."""
    explicit: bool
    """True when a flag, env var or config file named it (then launch applies them)."""


class FileConfig(NamedTuple):
    """What `dbinspect.toml` or `[tool.dbinspect]` in `pyproject.toml` says."""

    values: Mapping[str, Any] = MappingProxyType({})
    """The table's keys (`database-url`, `migrations`, `keys`...)."""
    origin: Path | None = None
    """The file the values came from."""

    def get_str(self, *names: str) -> str | None:
        """The first of `names` that is set, as a string."""
        for name in names:
            value = self.values.get(name)
            if value is not None:
                if not isinstance(value, str):
                    raise ConfigError(f"{self.origin}: {name} must be a string")
                return value
        return None


def _read_toml(path: Path) -> dict[str, Any]:
    # Imported here: most projects have no such file, and every command is a new
    # process whose start-up counts (`migrate run` is measured against dbmate).
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from error


def load_file_config(cwd: Path) -> FileConfig:
    """Read `dbinspect.toml`, else `[tool.dbinspect]` of `pyproject.toml`, in `cwd`."""
    own = cwd / "dbinspect.toml"
    if own.is_file():
        return FileConfig(_read_toml(own), own)
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("dbinspect")
        if isinstance(table, dict):
            return FileConfig(table, pyproject)
    return FileConfig()


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file the way dotenvy (used by sqlx-cli) reads the common cases.

    Hand-written because python-dotenv would be a dependency for a dozen lines:
    `KEY=value`, optional `export `, single or double quotes, `#` comments.
    """
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return values
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def load_sqlx_settings(cwd: Path) -> tuple[SqlxSettings, Path | None]:
    """Read `[migrate]` from `sqlx.toml` in `cwd`, if there is one."""
    path = cwd / "sqlx.toml"
    if not path.is_file():
        return SqlxSettings(), None
    migrate = _read_toml(path).get("migrate", {})
    if not isinstance(migrate, dict):
        raise ConfigError(f"{path}: [migrate] must be a table")
    return settings_from_mapping(migrate, path), path


def settings_from_mapping(migrate: Mapping[str, Any], origin: Path) -> SqlxSettings:
    """Validate a `[migrate]` table into `SqlxSettings`."""
    chars = migrate.get("ignored-chars", [])
    if not isinstance(chars, list) or not all(isinstance(c, str) for c in chars):
        raise ConfigError(f"{origin}: ignored-chars must be a list of strings")
    table = migrate.get("table-name", DEFAULT_TABLE_NAME)
    folder = migrate.get("migrations-dir")
    if not isinstance(table, str) or (folder is not None and not isinstance(folder, str)):
        raise ConfigError(f"{origin}: table-name and migrations-dir must be strings")
    return SqlxSettings(tuple(chars), table, folder)


class Settings(NamedTuple):
    """Everything a command needs to know about where to work."""

    url: DatabaseUrl | None
    """The database, or None when nothing named one."""
    migrations: MigrationsLocation
    """The migrations folder and whether it was configured explicitly."""
    sqlx: SqlxSettings
    """Checksum and tracking-table settings from `sqlx.toml`."""
    file_config: FileConfig
    """The dbinspect config file's values (key bindings, etc.)."""


def resolve_settings(
    *,
    database: str | None = None,
    database_url: str | None = None,
    source: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Combine flags, environment and files into one `Settings`.

    Args:
        database: The positional database argument.
        database_url: The `--database-url` option.
        source: The `--source` option (migrations folder).
        cwd: Where to look for `.env`, `sqlx.toml` and config files.
        environ: The environment (defaults to `os.environ`).
    """
    cwd = cwd or Path.cwd()
    env = os.environ if environ is None else environ
    file_config = load_file_config(cwd)
    sqlx, sqlx_path = load_sqlx_settings(cwd)
    dotenv = read_dotenv(cwd / ".env")

    url_text = (
        database
        or database_url
        or env.get("DATABASE_URL")
        or dotenv.get("DATABASE_URL")
        or file_config.get_str("database-url", "database_url")
    )
    url = parse_url(url_text) if url_text else None

    migrations_text = source or env.get("DBINSPECT_MIGRATIONS")
    base = cwd
    if not migrations_text and sqlx.migrations_dir and sqlx_path:
        migrations_text, base = sqlx.migrations_dir, sqlx_path.parent
    if not migrations_text:
        migrations_text = file_config.get_str("migrations", "migrations-dir")
        if migrations_text and file_config.origin:
            base = file_config.origin.parent
    explicit = bool(migrations_text)
    folder = Path(migrations_text or DEFAULT_MIGRATIONS_DIR)
    if not folder.is_absolute():
        folder = base / folder
    return Settings(url, MigrationsLocation(folder, explicit), sqlx, file_config)
