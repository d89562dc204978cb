"""Provides the one exception tree behind every user-facing failure."""

from __future__ import annotations


class DbInspectError(Exception):
    """A failure the user can act on; shown as one line, never as a traceback.

    Args:
        message: What went wrong, in the user's terms.
        hint: What to do about it, if there is something to do.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and hint joined into the single line the CLI prints."""
        text = self.message if not self.hint else f"{self.message} (hint: {self.hint})"
        return " ".join(text.split())


class ConfigError(DbInspectError):
    """A URL, option, environment variable or config file that cannot be used."""


class UnsupportedBackendError(ConfigError):
    """A URL scheme dbinspect does not speak."""

    def __init__(self, scheme: str) -> None:
        super().__init__(
            f"unsupported database URL scheme {scheme!r}",
            "dbinspect reads SQLite (a file path or sqlite:PATH) and PostgreSQL "
            "(postgres://USER@HOST/DB)",
        )
        self.scheme = scheme


class ConnectError(DbInspectError):
    """The database could not be opened (missing, not SQLite, locked, unreadable)."""


class QueryError(DbInspectError):
    """A statement failed on an open database."""

    def __init__(self, message: str, sql: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.sql = sql


class PassingError(QueryError):
    """A read failed for a moment's reason (another session's lock): the same read may
    succeed later."""


class ConnectionLostError(PassingError):
    """The server ended the session (restarted, or `pg_terminate_backend`): a new
    connection may read on."""


class MigrationError(DbInspectError):
    """Migrations could not be read, applied or reverted."""


class MigrationSourceError(MigrationError):
    """The migrations folder holds a file that breaks the naming or encoding rules."""


class DirtyDatabaseError(MigrationError):
    """A tracking row records a migration that failed part way."""


class MissingMigrationError(MigrationError):
    """An applied migration has no file in the folder."""


class ChecksumMismatchError(MigrationError):
    """An applied migration's file has changed since it was applied."""


class OperationError(DbInspectError):
    """A backup, restore, check or repair could not be done."""


class MigrationFailedError(MigrationError):
    """A migration's SQL failed; it was rolled back and the database left as it was.

    Args:
        message: What failed.
        version: The migration that failed.
        path: The file that failed.
        statement: The statement that failed (number and text), when known.
        at_version: The latest applied version the database is left at (0 for none).
    """

    def __init__(
        self,
        message: str,
        *,
        version: int,
        path: str,
        statement: str | None,
        at_version: int,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.version = version
        self.path = path
        self.statement = statement
        self.at_version = at_version
