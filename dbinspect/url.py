"""Parses database URLs as sqlx writes them, and keeps passwords out of every output."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from dbinspect.errors import ConfigError, UnsupportedBackendError

SQLITE_MODES = ("ro", "rw", "rwc", "memory")
_SECRET_QUERY_KEYS = re.compile(r"(?i)([?&](?:ssl)?password=)[^&]*")
# The authority ends at the first `/`, `?` or `#`; userinfo ends at its last `@`, as URL
# parsers split it, so a password holding an unencoded `@` is masked whole.
_USERINFO_PASSWORD = re.compile(r"(//[^/?#:]*:)[^/?#]*(@)")


def mask_url(text: str) -> str:
    """Replace the password in `user:pass@` and in `password=`/`sslpassword=` with `***`."""
    return _SECRET_QUERY_KEYS.sub(r"\1***", _USERINFO_PASSWORD.sub(r"\1***\2", text))


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A parsed database URL whose repr and str never show a password.

    Textual's crash screen prints locals, so the raw text lives in a field
    excluded from the repr.
    """

    backend: str
    """`sqlite` or `postgres`."""
    path: Path | None = None
    """The SQLite file, or None for `sqlite::memory:`."""
    mode: str | None = None
    """The SQLite open mode from `?mode=`: ro, rw, rwc or memory; None when not given."""
    raw: str = field(default="", repr=False, compare=False)
    """The URL exactly as given (may hold a password: never print it)."""

    @property
    def masked(self) -> str:
        """The URL with any password replaced by `***`, safe to show or log."""
        return mask_url(self.raw)

    @property
    def in_memory(self) -> bool:
        """Whether this is an in-memory SQLite database."""
        return self.backend == "sqlite" and self.path is None

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.masked!r})"


def parse_url(text: str) -> DatabaseUrl:
    """Parse a sqlx-style URL or a bare file path.

    Accepts `sqlite:path.db`, `sqlite://path.db`, `sqlite:///abs/path.db`,
    `sqlite::memory:` (each with an optional `?mode=ro|rw|rwc`), `postgres://...`,
    `postgresql://...`, and a plain path.

    Raises:
        ConfigError: The URL is empty or its mode is unknown.
        UnsupportedBackendError: The scheme is not sqlite or postgres.
    """
    text = text.strip()
    if not text:
        raise ConfigError("the database URL is empty", "pass a path or a sqlite: URL")
    scheme_match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", text)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    # A Windows drive letter or a path with a colon later on is still a path.
    if not scheme or len(scheme) == 1:
        return DatabaseUrl("sqlite", Path(text), None, text)
    if scheme in ("postgres", "postgresql"):
        # The host follows the authority's last `@` (urlsplit would reject a `[` in a password).
        authority = re.match(r"^[^:]*://([^/?#]*)", text)
        host = authority.group(1).rpartition("@")[2].split(":")[0] if authority else ""
        if not host and "host=" not in text:
            raise ConfigError(f"PostgreSQL URL has no host: {mask_url(text)}")
        return DatabaseUrl("postgres", None, None, text)
    if scheme != "sqlite":
        raise UnsupportedBackendError(scheme)
    rest = text[len("sqlite:") :]
    if rest.startswith("//"):
        rest = rest[2:]
    location, _, query = rest.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    mode = params.get("mode")
    if mode is not None and mode not in SQLITE_MODES:
        raise ConfigError(f"unknown SQLite mode {mode!r}", "use mode=ro, mode=rw or mode=rwc")
    if location in (":memory:", "") or mode == "memory":
        return DatabaseUrl("sqlite", None, "memory", text)
    return DatabaseUrl("sqlite", Path(unquote(location)), mode, text)
