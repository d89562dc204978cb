"""Resolves the database URL, migrations folder and options from flags, env and files.

Precedence, first match wins, in the order sqlx-cli uses for the URL:
the positional argument, `--database-url`, `DATABASE_URL` in the environment,
`DATABASE_URL` in the first `.env` found from the working directory upward (as sqlx-cli's
dotenvy finds it), `dbinspect.toml`, then `[tool.dbinspect]` in `pyproject.toml`.

The settings are NamedTuples, immutable and cheaper to define than frozen dataclasses:
every command starts a new process and reads them first.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections import ChainMap
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from dbinspect.backends.sqlite_names import quote_identifier
from dbinspect.errors import ConfigError
from dbinspect.extensions import Extension, ExtensionChoice, sqlx_extensions
from dbinspect.url import DatabaseUrl, mask_url, parse_url

DEFAULT_MIGRATIONS_DIR = "migrations"
DEFAULT_TABLE_NAME = "_sqlx_migrations"
SourceFormat = Literal["auto", "sqlx", "dbmate"]


class TrackingTable(NamedTuple):
    """The tracking table as SQLite resolves sqlx's `table-name`: which schema, which name."""

    schema: str
    """`main` or `temp`: the only schemas of a connection sqlx opens."""
    name: str
    """The table's name as SQLite stores it (without quotes)."""

    @property
    def sql(self) -> str:
        """The name to write in a statement, quoted, so every statement means this table."""
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.name)}"

    @property
    def catalog(self) -> str:
        """The schema's own table of tables, where this table's row is looked up."""
        return f"{quote_identifier(self.schema)}.sqlite_schema"


# sqlx's SQLite statements, with `{table}` where sqlx formats `table-name` in, unquoted
# (sqlx-sqlite/src/migrate.rs): a name sqlx can use is one all of them accept.
_SQLX_STATEMENTS = (
    """
CREATE TABLE IF NOT EXISTS {table} (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    success BOOLEAN NOT NULL,
    checksum BLOB NOT NULL,
    execution_time BIGINT NOT NULL
);
                """,
    "SELECT version FROM {table} WHERE success = false ORDER BY version LIMIT 1",
    "SELECT version, checksum FROM {table} ORDER BY version",
    """
    INSERT INTO {table} ( version, description, success, checksum, execution_time )
    VALUES ( 1, 'x', TRUE, x'00', -1 )
        """,
    """
    UPDATE {table}
    SET execution_time = 1
    WHERE version = 1
                """,
    """
    DELETE FROM {table}
    WHERE version = 1
        """,
)


@functools.lru_cache(maxsize=8)
def tracking_table(text: str) -> TrackingTable:
    """Resolve a `table-name` exactly as sqlx's SQL does, or refuse one sqlx would fail on.

    sqlx accepts a plain name, a schema-qualified one (`main.x`) and quoted ones
    (`"my-migrations"`): whatever SQLite parses where sqlx puts it. So SQLite itself
    decides, running sqlx's statements on an empty in-memory database, which also tells
    where the table lands and its unquoted name.

    Raises:
        ConfigError: sqlx's statements fail with this name (`my-migrations`, `foo.x`).
    """
    if text == DEFAULT_TABLE_NAME:
        return TrackingTable("main", DEFAULT_TABLE_NAME)
    from dbinspect import sqlite_driver as driver

    def no_functions(action: int, *_: str | None) -> int:
        return driver.SQLITE_DENY if action == driver.SQLITE_FUNCTION else driver.SQLITE_OK

    conn = driver.connect(":memory:", isolation_level=None)
    # The name is run as SQL (`x AS SELECT ... /*` makes a valid CREATE): sqlx's statements
    # call no function and take under 200 steps, so a hostile sqlx.toml can neither call
    # one nor make this spin.
    conn.set_authorizer(no_functions)
    conn.set_progress_handler(lambda: 1, 10_000)
    try:
        for statement in _SQLX_STATEMENTS:
            conn.execute(statement.replace("{table}", text))
        found = conn.execute(
            "SELECT 'main', name FROM main.sqlite_schema WHERE type = 'table' "
            "UNION ALL SELECT 'temp', name FROM temp.sqlite_schema WHERE type = 'table'"
        ).fetchall()
    except driver.Error as error:
        raise ConfigError(
            f"table-name {text!r} is not a table name sqlx can use: {error}",
            "use letters, digits and _, optionally after main., or quote the name: "
            "table-name = '\"my-migrations\"'",
        ) from None
    finally:
        conn.close()
    schema, name = found[0]
    return TrackingTable(str(schema), str(name))


class SqlxSettings(NamedTuple):
    """The `[migrate]` settings of a `sqlx.toml` that change how migrations behave."""

    ignored_chars: tuple[str, ...] = ()
    """Characters removed from a file before its checksum is taken."""
    table_name: str = DEFAULT_TABLE_NAME
    """The tracking table's name as written (see `tracking_table` for what it names)."""
    migrations_dir: str | None = None
    """The folder of migrations, relative to the `sqlx.toml`."""
    extensions: tuple[Extension, ...] = ()
    """Extensions for migration connections: `[drivers.sqlite] unsafe-load-extensions`
    of the `sqlx.toml`, then those the command line chose (see `dbinspect.extensions`)."""
    source_format: SourceFormat = "auto"
    """The migrations folder's format: sqlx's, dbmate's, or `auto` (dbmate's when its
    `-- migrate:up` marker is found; see `dbinspect.migrate.dbmate`)."""


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

    def __repr__(self) -> str:
        # `database-url` may hold a password, and Textual's crash screen prints locals.
        shown = {k: mask_url(v) if isinstance(v, str) else v for k, v in self.values.items()}
        return f"FileConfig(values={shown!r}, origin={self.origin!r})"


def _read_toml(path: Path) -> dict[str, Any] | None:
    """The file's TOML document, or None when there is no such file."""
    # Imported here: most projects have no such file, and every command is a new
    # process whose start-up counts (`migrate run` is measured against dbmate).
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8", "save it as UTF-8") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


def _table(value: object, path: Path, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {name} must be a table, not {type(value).__name__}")
    return value


_STRING_KEYS = ("database-url", "database_url", "migrations", "migrations-dir")


def _file_config(values: dict[str, Any], origin: Path) -> FileConfig:
    config = FileConfig(values, origin)
    for key in _STRING_KEYS:  # a wrong type is refused even where a flag overrides it
        config.get_str(key)
    return config


def load_file_config(cwd: Path) -> FileConfig:
    """Read `dbinspect.toml`, else `[tool.dbinspect]` of `pyproject.toml`, in `cwd`."""
    own = cwd / "dbinspect.toml"
    document = _read_toml(own)
    if document is not None:
        return _file_config(document, own)
    pyproject = cwd / "pyproject.toml"
    document = _read_toml(pyproject)
    if document is None or document.get("tool") is None:
        return FileConfig()
    table = _table(document["tool"], pyproject, "tool").get("dbinspect")
    if table is None:
        return FileConfig()
    return _file_config(_table(table, pyproject, "tool.dbinspect"), pyproject)


def find_dotenv(cwd: Path) -> Path | None:
    """The first `.env` file in `cwd` or a folder above it, as dotenvy (sqlx-cli) finds it.

    A `.env` that is not a file (a folder) is passed over; a folder that cannot be
    looked into ends the search, as it does dotenvy's.
    """
    for folder in (cwd, *cwd.parents):
        candidate = folder / ".env"
        try:
            if stat.S_ISREG(candidate.stat().st_mode):
                return candidate
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return None
    return None


_SINGLE_QUOTED = r"\s*(?:export\s+)?(?:'[^']+'|[^=#\s]+)[^\S\r\n]*=[^\S\r\n]*'"
"""A `.env` binding whose value is in single quotes (python-dotenv's key syntax)."""


class Dotenv(NamedTuple):
    """What a `.env` file sets, as sqlx-cli would load it."""

    values: dict[str, str]
    """Each variable's first value, with `${VAR}` expanded."""
    stopped_at: int | None
    """The line that could not be parsed, where reading stopped (None: read to the end)."""

    def __repr__(self) -> str:  # DATABASE_URL may hold a password
        shown = {key: mask_url(value) for key, value in self.values.items()}
        return f"Dotenv(values={shown!r}, stopped_at={self.stopped_at!r})"


def read_dotenv(path: Path, environ: Mapping[str, str]) -> Dotenv:
    """Parse a `.env` file with python-dotenv, resolving values the way dotenvy does.

    Nothing is put into the environment: a `.env` must not set variables of this process.
    As in dotenvy: the first value of a variable counts (dotenvy never overrides a
    variable already set), `${VAR}` looks in the environment before the file's earlier
    lines, and reading stops at the first line that cannot be parsed.

    Raises:
        ConfigError: The file cannot be read or is not UTF-8.
    """
    # Imported only here, when a `.env` has to be read: it adds about 6 ms to start-up.
    from dotenv.parser import parse_stream
    from dotenv.variables import parse_variables

    try:
        with path.open(encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8", "save it as UTF-8") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    values: dict[str, str] = {}
    lookup = ChainMap(dict(environ), values)
    for binding in bindings:
        if binding.error or (binding.key is not None and binding.value is None):
            return Dotenv(values, binding.original.line)
        if binding.key is None or binding.value is None or binding.key in values:
            continue
        if re.match(_SINGLE_QUOTED, binding.original.string):  # dotenvy expands nothing in '...'
            values[binding.key] = binding.value
        else:
            atoms = parse_variables(binding.value)
            values[binding.key] = "".join(atom.resolve(lookup) for atom in atoms)
    return Dotenv(values, None)


def _dotenv_database_url(cwd: Path, environ: Mapping[str, str]) -> str | None:
    path = find_dotenv(cwd)
    if path is None:
        return None
    dotenv = read_dotenv(path, environ)
    url = dotenv.values.get("DATABASE_URL")
    if not url and dotenv.stopped_at is not None:
        raise ConfigError(
            f"{path}: line {dotenv.stopped_at} cannot be parsed, and no DATABASE_URL "
            "comes before it",
            "fix that line (sqlx stops reading .env there too)",
        )
    return url


def load_sqlx_settings(cwd: Path) -> tuple[SqlxSettings, Path | None]:
    """Read `[migrate]` from `sqlx.toml` in `cwd`, if there is one."""
    path = cwd / "sqlx.toml"
    document = _read_toml(path)
    if document is None:
        return SqlxSettings(), None
    migrate = _table(document.get("migrate", {}), path, "migrate")
    settings = settings_from_mapping(migrate, path)
    return settings._replace(extensions=sqlx_extensions(document, path)), path


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


def check_table_name(table: str, origin: Path, url: DatabaseUrl | None) -> None:
    """Refuse, before any database is opened, a `table-name` sqlx's SQL would fail on.

    What sqlx accepts depends on the database: SQLite knows the schemas `main` and
    `temp` only, PostgreSQL any schema. Without a URL, a name neither accepts is refused.

    Raises:
        ConfigError: The name, with the `sqlx.toml` it came from.
    """
    if table == DEFAULT_TABLE_NAME:
        return

    def postgres_name() -> None:
        from dbinspect.migrate.pg_dialect import checked_table_name  # loads PostgreSQL's parser

        checked_table_name(table)

    try:
        if url is not None and url.backend == "postgres":
            postgres_name()
        elif url is not None:
            tracking_table(table)
        else:
            try:
                tracking_table(table)
            except ConfigError:
                postgres_name()
    except ConfigError as error:
        raise ConfigError(f"{origin}: {error.message}", error.hint) from None


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
    extensions: ExtensionChoice = ExtensionChoice()
    """The SQLite extensions to load, by connection (see `cli_extensions.with_extensions`)."""


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
        cwd: Where to look for `sqlx.toml` and config files, and where the search for
            `.env` starts.
        environ: The environment (defaults to `os.environ`).
    """
    cwd = (cwd or Path.cwd()).absolute()
    env = os.environ if environ is None else environ
    file_config = load_file_config(cwd)
    sqlx, sqlx_path = load_sqlx_settings(cwd)

    url_text = database or database_url or env.get("DATABASE_URL")
    if not url_text:  # `.env` is looked for only when nothing before it named the URL
        url_text = _dotenv_database_url(cwd, env)
    url_text = url_text or file_config.get_str("database-url", "database_url")
    url = parse_url(url_text) if url_text else None
    if sqlx_path is not None:
        check_table_name(sqlx.table_name, sqlx_path, url)

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
