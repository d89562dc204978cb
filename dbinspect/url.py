"""Parses database URLs as sqlx writes them, and keeps passwords out of every output."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from dbinspect.errors import ConfigError, UnsupportedBackendError

SQLITE_MODES = ("ro", "rw", "rwc", "memory")
MASK = "***"

# Masking errs on the side of hiding too much: a password may hold any character, `/`,
# `?`, `#`, `@` and `:` included, so no URL parser's reading of a malformed URL can be
# trusted to find where it ends.
_SCHEME_PREFIX = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9+.-]+://+|(?i:sqlite|postgres(?:ql)?):)")
"""`scheme://`, or one of ours: another `name:` may as well be the user of `name:pass@host`."""
_QUERY_KEY = re.compile(r"[?&]([^=&?]*)=")
_KEY_VALUE_SECRET = re.compile(r"(?i)(?:^|\s)(?:ssl)?password\s*=")
_SECRET_KEYS = frozenset({"password", "sslpassword"})
# libpq's key/value connection string (`host=h dbname=d password=p`), which sqlx does not
# take: recognised by its first keyword, so that it is refused rather than opened as a file.
_KEY_VALUE_START = re.compile(r"\s*([A-Za-z_]+)\s*=")
_LIBPQ_KEYWORDS = frozenset(
    "host hostaddr port dbname user password passfile require_auth channel_binding "
    "connect_timeout client_encoding options application_name fallback_application_name "
    "keepalives keepalives_idle keepalives_interval keepalives_count tcp_user_timeout "
    "replication gssencmode sslmode requiressl sslnegotiation sslcompression sslcert sslkey "
    "sslpassword sslcertmode sslrootcert sslcrl sslcrldir sslsni requirepeer "
    "ssl_min_protocol_version ssl_max_protocol_version krbsrvname gsslib gssdelegation "
    "service target_session_attrs load_balance_hosts".split()
)


def _userinfo_secret(text: str) -> tuple[int, int] | None:
    """Where `pass` is in `scheme://user:pass@host`: from the first `:` to the last `@`."""
    prefix = _SCHEME_PREFIX.match(text)
    start = prefix.end() if prefix else 0
    at = text.rfind("@")
    colon = text.find(":", start, at) if at > start else -1
    return (colon + 1, at) if colon >= 0 else None


def _parameter_secret(text: str) -> tuple[int, int] | None:
    """Where a `password=` or `sslpassword=` value is, in a query or key/value string.

    It runs to the end of the text: an unencoded `&`, `#` or space may belong to it.
    """
    starts = [
        found.end()
        for found in _QUERY_KEY.finditer(text)
        if unquote(found.group(1)).strip().lower() in _SECRET_KEYS  # libpq decodes keys too
    ]
    key_value = _KEY_VALUE_SECRET.search(text)
    if key_value:
        starts.append(key_value.end())
    return (min(starts), len(text)) if starts else None


def mask_url(text: str) -> str:
    """Replace every password in a URL or connection string with `***`, however malformed.

    Masks `user:pass@` (from the first `:` after the scheme to the last `@`), and a
    `password=` / `sslpassword=` value in a query or a libpq key/value string. Both are
    found in the text as given, so that hiding one never hides the key of the other.
    """
    spans = sorted(span for span in (_userinfo_secret(text), _parameter_secret(text)) if span)
    if not spans:
        return text
    if len(spans) == 2 and spans[1][0] <= spans[0][1]:  # overlapping: hide both as one
        spans = [(spans[0][0], max(spans[0][1], spans[1][1]))]
    shown, cursor = [], 0
    for begin, end in spans:
        shown += [text[cursor:begin], MASK]
        cursor = end
    return "".join([*shown, text[cursor:]])


_QUOTED = re.compile(r'"[^"]*"')
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"']+")


def mask_secrets(message: str, url_text: str) -> str:
    """`message` (a driver's error about the URL `url_text`) with the URL's passwords hidden.

    libpq quotes the part of a URL it cannot read (`invalid percent-encoded token:
    "pa%zz"`), a password included: a quoted part that holds a password, or is part of
    one, is masked, and so is every password as written or decoded.
    """
    spans = [span for span in (_userinfo_secret(url_text), _parameter_secret(url_text)) if span]
    written = [url_text[begin:end] for begin, end in spans]
    # A query's password runs to the end of the text (see `_parameter_secret`); libpq
    # quotes its value alone, up to the next `&`.
    written += [value.split("&")[0] for value in written]
    secrets = {value for text in written for value in (text, unquote(text)) if value}

    def hidden(found: re.Match[str]) -> str:
        inside = found.group()[1:-1]
        holds = any(inside and (inside in secret or secret in inside) for secret in secrets)
        return f'"{MASK}"' if holds else found.group()

    # Each URL in the message masked on its own: masking the whole message as one URL
    # would run from its first `:` to its last `@`, hiding the words between.
    message = _URL_IN_TEXT.sub(lambda found: mask_url(found.group()), message)
    if _URL_IN_TEXT.search(message) is None:
        message = mask_url(message)  # a key/value string or a bare `user:pass@host`
    parameter = _parameter_secret(message)  # `password=` outside a URL, however short
    if parameter is not None and not message.startswith(MASK, parameter[0]):
        message = message[: parameter[0]] + MASK
    if any(mark in secret for secret in secrets for mark in ' "@'):
        # libpq quotes a fragment of the URL that it splits otherwise than here (at the
        # first `@`, at a quote or a space): everything it quotes goes, to be safe.
        first, last = message.find('"'), message.rfind('"')
        if 0 <= first < last:
            message = f'{message[:first]}"{MASK}"{message[last + 1 :]}'
    message = _QUOTED.sub(hidden, message)
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:  # a shorter one would hide ordinary words
            message = message.replace(secret, MASK)
    return message


def without_password(text: str) -> str:
    """The URL with every password left out (not masked), for commands meant to be run.

    `user:pass@` becomes `user@`; a `password=` or `sslpassword=` parameter goes, with
    whatever follows it (masking cannot tell where its value ends, see `mask_url`).
    libpq and sqlx-cli then read the password from PGPASSWORD or ~/.pgpass.
    """
    parameter = _parameter_secret(text)
    if parameter is not None:
        key_start = max(text.rfind("?", 0, parameter[0]), text.rfind("&", 0, parameter[0]))
        text = text[:key_start] if key_start > 0 else text[: parameter[0]]
    userinfo = _userinfo_secret(text)
    if userinfo is not None:
        text = text[: userinfo[0] - 1] + text[userinfo[1] :]
    return text


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
        ConfigError: The URL is empty, its mode is unknown, it is a libpq key/value
            string, or a SQLite URL or path seems to hold a password.
        UnsupportedBackendError: The scheme is not sqlite or postgres.
    """
    text = text.strip()
    if not text:
        raise ConfigError("the database URL is empty", "pass a path or a sqlite: URL")
    key_value = _KEY_VALUE_START.match(text)
    if key_value and key_value.group(1).lower() in _LIBPQ_KEYWORDS:
        raise ConfigError(
            f"key/value connection strings are not supported: {mask_url(text)}",
            "write a URL, as sqlx takes: postgres://USER@HOST/DB or sqlite:PATH",
        )
    scheme_match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", text)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    if scheme in ("postgres", "postgresql"):
        return _postgres_url(text)
    if len(scheme) > 1 and scheme != "sqlite":
        raise UnsupportedBackendError(scheme)
    if mask_url(text) != text:
        # The path would be printed in errors; a SQLite file has no user or password.
        raise ConfigError(
            f"a SQLite URL or path takes no user or password: {mask_url(text)}",
            "write sqlite:PATH, with a ':' or '@' in the file name as %3A or %40",
        )
    # A Windows drive letter or a path with a colon later on is still a path.
    if not scheme or len(scheme) == 1:
        return DatabaseUrl("sqlite", _file_path(text), None, text)
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
    return DatabaseUrl("sqlite", _file_path(unquote(location)), mode, text)


def _file_path(text: str) -> Path:
    """The file a SQLite URL names; a NUL (`%00`) can be in no file name."""
    if "\x00" in text:
        raise ConfigError(
            f"a database path cannot hold a NUL character: {text!r}",
            "check the URL for a stray %00",
        )
    return Path(text)


def _postgres_url(text: str) -> DatabaseUrl:
    # Without a host (`postgres:///db`), libpq, psql and sqlx take PGHOST, a `host=`
    # parameter, a service, or the default Unix socket: so does dbinspect. Only a URL
    # without its `//` is no URL libpq reads.
    if not re.match(r"^[^:]*://", text):
        raise ConfigError(
            f"not a PostgreSQL URL: {mask_url(text)}",
            "write postgres://USER@HOST/DB (or postgres:///DB for the local socket)",
        )
    part = _undecodable_part(text)
    if part is not None:
        # libpq would send the bytes on as they are, and Python refuses to encode them:
        # the driver's error would blame the host name whatever the part.
        raise ConfigError(
            f"the {part} in the URL {mask_url(text)} is not valid UTF-8",
            "write it in UTF-8",
        )
    return DatabaseUrl("postgres", None, None, text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _undecodable_part(text: str) -> str | None:
    """Which part of a PostgreSQL URL holds bytes that are not UTF-8, found as libpq splits
    the URL; None when every part is UTF-8.

    Such a byte is written as itself (a command-line argument's, which Python decodes
    to a lone surrogate) or percent-encoded (`%FF`), which libpq decodes the same way.
    """
    if not _SURROGATE.search(text) and "%" not in text:
        return None
    rest = text[text.index("://") + 3 :]
    # libpq: user credentials end at an `@` met before any `/`.
    stop = re.search(r"[@/]", rest)
    if stop is not None and stop.group() == "@":
        user, colon, password = rest[: stop.start()].partition(":")
        if _undecodable(user):
            return "user name"
        if colon and _undecodable(password):
            return "password"
        rest = rest[stop.end() :]
    hosts, rest = _split_hosts(rest)
    for host in hosts.split(","):
        name, port = _host_port(host)
        if _undecodable(name):
            return "host name"
        if _undecodable(port):
            return "port"
    database, _, query = rest.partition("?")
    if _undecodable(database):
        return "database name"
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if _undecodable(key):
            return "name of a parameter"
        if _undecodable(value):
            return f"value of the parameter {unquote(key)}"
    return None


def _undecodable(part: str) -> bool:
    return bool(_SURROGATE.search(unquote(part, errors="surrogateescape")))


def _split_hosts(rest: str) -> tuple[str, str]:
    """The host list, and what follows it: `database?query` (either may be empty)."""
    end = re.search(r"[/?]", rest)
    if end is None:
        return rest, ""
    return rest[: end.start()], rest[end.start() :].removeprefix("/")


def _host_port(host: str) -> tuple[str, str]:
    """`host:port` (an IPv6 address in brackets) as its name and its port."""
    if host.startswith("["):
        name, _, after = host.partition("]")
        return name + "]", after.removeprefix(":")
    name, _, port = host.partition(":")
    return name, port
