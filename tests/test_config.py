"""Tests URL parsing, password masking and where settings come from."""

from __future__ import annotations

import string
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dbinspect.config import (
    DEFAULT_TABLE_NAME,
    SqlxSettings,
    load_sqlx_settings,
    resolve_settings,
)
from dbinspect.errors import ConfigError, UnsupportedBackendError
from dbinspect.url import DatabaseUrl, mask_url, parse_url

# --- URL forms, as sqlx writes them ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "mode"),
    [
        ("sqlite:path.db", Path("path.db"), None),
        ("sqlite://path.db", Path("path.db"), None),
        ("sqlite:///abs/path.db", Path("/abs/path.db"), None),
        ("sqlite:sub/dir/app.db", Path("sub/dir/app.db"), None),
        ("sqlite:app.db?mode=ro", Path("app.db"), "ro"),
        ("sqlite://app.db?mode=rw", Path("app.db"), "rw"),
        ("sqlite:///tmp/app.db?mode=rwc", Path("/tmp/app.db"), "rwc"),
        ("SQLITE:app.db", Path("app.db"), None),
        ("sqlite:my%20db.db", Path("my db.db"), None),
        ("app.db", Path("app.db"), None),
        ("./data/app.db", Path("./data/app.db"), None),
        ("/abs/app.db", Path("/abs/app.db"), None),
        ("  app.db  ", Path("app.db"), None),
        ("dir:with/colon.db", None, None),  # not a scheme we know: refused below
    ],
)
def test_sqlite_url_forms(text: str, path: Path | None, mode: str | None) -> None:
    if path is None:
        with pytest.raises(UnsupportedBackendError):
            parse_url(text)
        return
    url = parse_url(text)
    assert url.backend == "sqlite"
    assert url.path == path
    assert url.mode == mode
    assert not url.in_memory


def test_drive_letter_path_is_a_path() -> None:
    url = parse_url(r"C:\data\app.db")
    assert url.backend == "sqlite"
    assert url.path == Path(r"C:\data\app.db")


@pytest.mark.parametrize(
    "text", ["sqlite::memory:", "sqlite://:memory:", "sqlite::memory:?mode=rwc", "sqlite:"]
)
def test_memory_urls(text: str) -> None:
    url = parse_url(text)
    assert url.backend == "sqlite"
    assert url.in_memory
    assert url.path is None


@pytest.mark.parametrize(
    "text",
    ["postgres://user:pw@localhost:5432/app", "postgresql://localhost/app", "POSTGRES://h/db"],
)
def test_postgres_urls(text: str) -> None:
    url = parse_url(text)
    assert url.backend == "postgres"
    assert url.path is None
    assert not url.in_memory


def test_postgres_without_host_is_libpqs_default_host() -> None:
    assert parse_url("postgres://user:s3cr3t@/app").backend == "postgres"
    assert parse_url("postgres:///app").backend == "postgres"


def test_postgres_without_slashes_is_an_error_that_masks_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_url("postgres:user:s3cr3t@host/app")
    assert "not a PostgreSQL URL" in caught.value.one_line()
    assert "s3cr3t" not in caught.value.one_line()


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_url_is_an_error(text: str) -> None:
    with pytest.raises(ConfigError, match="empty"):
        parse_url(text)


def test_unknown_mode_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_url("sqlite:app.db?mode=bogus")
    assert "bogus" in caught.value.message
    assert caught.value.hint and "mode=ro" in caught.value.hint


@pytest.mark.parametrize("scheme", ["mysql", "http", "file", "mariadb"])
def test_unsupported_scheme(scheme: str) -> None:
    with pytest.raises(UnsupportedBackendError) as caught:
        parse_url(f"{scheme}://user:topsecret@host/db")
    assert caught.value.scheme == scheme
    assert "topsecret" not in caught.value.one_line()


@given(
    st.text(alphabet=string.ascii_letters + string.digits + "_-.", min_size=1, max_size=30).filter(
        lambda s: s not in (".", "..")
    )
)
def test_any_simple_file_name_round_trips(name: str) -> None:
    for text in (f"sqlite:{name}", f"sqlite://{name}", name):
        assert parse_url(text).path == Path(name)
    assert parse_url(f"sqlite:///srv/{name}").path == Path("/srv") / name


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and "\x00" not in s))
def test_percent_encoded_names_decode(name: str) -> None:
    url = parse_url("sqlite:///data/" + quote(name, safe=""))
    assert url.path == Path("/data/" + name)


# --- Masking ---------------------------------------------------------------------------

PASSWORDS = st.text(
    alphabet=st.characters(
        blacklist_characters="/?#@\x00", blacklist_categories=("Cs",), min_codepoint=32
    ),
    min_size=1,
    max_size=30,
)
USERS = st.text(alphabet=string.ascii_letters + string.digits + "_.-", min_size=1, max_size=12)


@given(USERS, PASSWORDS)
def test_userinfo_password_is_masked(user: str, password: str) -> None:
    for secret in (password, quote(password, safe="")):
        text = f"postgres://{user}:{secret}@db.example:5432/app"
        assert mask_url(text) == f"postgres://{user}:***@db.example:5432/app"
        url = parse_url(text)
        assert url.masked == f"postgres://{user}:***@db.example:5432/app"
        assert str(url) == url.masked
        assert repr(url) == f"DatabaseUrl({url.masked!r})"
        assert url.raw == text


@given(PASSWORDS)
def test_query_passwords_are_masked_to_the_end(password: str) -> None:
    # An unencoded `&` or `#` may belong to the password: everything after the key goes.
    text = f"postgres://host/app?user=me&password={password}&sslpassword={password}&x=1"
    assert mask_url(text) == "postgres://host/app?user=me&password=***"
    upper = f"postgres://host/app?PASSWORD={password}"
    assert mask_url(upper) == "postgres://host/app?PASSWORD=***"
    ssl = f"postgres://host/app?sslmode=require&sslpassword={password}"
    assert mask_url(ssl) == "postgres://host/app?sslmode=require&sslpassword=***"


def test_password_with_unencoded_at_sign_is_fully_masked() -> None:
    # URL parsers split userinfo at the last '@' of the authority.
    assert mask_url("postgres://u:p@ss@host/db") == "postgres://u:***@host/db"
    assert mask_url("postgres://u@x:pw@host/db") == "postgres://u@x:***@host/db"


@pytest.mark.parametrize(
    "text",
    [
        "postgres://host:5432/db",
        "postgres://user@host:5432/db",
        "sqlite:app.db?mode=ro",
        "postgres://host/db?passwords_table=1",
    ],
)
def test_urls_without_secrets_are_unchanged(text: str) -> None:
    assert mask_url(text) == text


def test_repr_and_str_never_show_the_password() -> None:
    url = parse_url("postgresql://admin:hunter2@h/db?sslpassword=hunter3")
    for shown in (repr(url), str(url), f"{url}", f"{url!r}", repr([url]), url.masked):
        assert "hunter2" not in shown
        assert "hunter3" not in shown
    assert url == DatabaseUrl("postgres", None, None, "other raw text")


def test_masked_url_in_settings_repr(tmp_path: Path) -> None:
    settings = resolve_settings(
        database_url="postgres://u:topsecret@h/db", cwd=tmp_path, environ={}
    )
    assert "topsecret" not in repr(settings)


def test_config_file_url_is_masked_in_the_repr(tmp_path: Path) -> None:
    # Textual's crash screen prints locals: the file's values must not show the password.
    (tmp_path / "dbinspect.toml").write_text(
        'database-url = "postgres://u:topsecret@h/db"\nmigrations = "m"\n', encoding="utf-8"
    )
    settings = resolve_settings(cwd=tmp_path, environ={})
    assert settings.file_config.get_str("database-url") == "postgres://u:topsecret@h/db"
    for shown in (repr(settings), repr(settings.file_config), str(settings.file_config)):
        assert "topsecret" not in shown
        assert "'migrations': 'm'" in shown


# --- Precedence ------------------------------------------------------------------------

LEVELS = ("argument", "option", "environ", "dotenv", "dbinspect_toml", "pyproject")


def _write_sources(cwd: Path, present: set[str]) -> dict[str, str]:
    """Configure each source in `present` to name its own database; return the environ."""
    environ: dict[str, str] = {}
    if "environ" in present:
        environ["DATABASE_URL"] = "sqlite:environ.db"
    if "dotenv" in present:
        (cwd / ".env").write_text("DATABASE_URL=sqlite:dotenv.db\n", encoding="utf-8")
    if "dbinspect_toml" in present:
        (cwd / "dbinspect.toml").write_text(
            'database-url = "sqlite:dbinspect_toml.db"\n', encoding="utf-8"
        )
    if "pyproject" in present:
        (cwd / "pyproject.toml").write_text(
            '[project]\nname = "x"\n\n[tool.dbinspect]\ndatabase-url = "sqlite:pyproject.db"\n',
            encoding="utf-8",
        )
    return environ


@pytest.mark.parametrize("first", range(len(LEVELS)))
def test_precedence_first_match_wins(tmp_path: Path, first: int) -> None:
    present = set(LEVELS[first:])
    environ = _write_sources(tmp_path, present)
    settings = resolve_settings(
        database="argument.db" if "argument" in present else None,
        database_url="sqlite:option.db" if "option" in present else None,
        cwd=tmp_path,
        environ=environ,
    )
    assert settings.url is not None
    assert settings.url.path == Path(f"{LEVELS[first]}.db")


def test_nothing_configured_gives_no_url(tmp_path: Path) -> None:
    settings = resolve_settings(cwd=tmp_path, environ={})
    assert settings.url is None
    assert settings.migrations.path == tmp_path / "migrations"
    assert settings.migrations.explicit is False
    assert settings.sqlx == SqlxSettings()


def test_dbinspect_toml_accepts_underscore_key(tmp_path: Path) -> None:
    (tmp_path / "dbinspect.toml").write_text('database_url = "sqlite:u.db"\n', encoding="utf-8")
    settings = resolve_settings(cwd=tmp_path, environ={})
    assert settings.url is not None and settings.url.path == Path("u.db")


def test_pyproject_without_our_table_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.other]\nx = "y"\n', encoding="utf-8")
    assert resolve_settings(cwd=tmp_path, environ={}).url is None


def test_non_string_database_url_in_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "dbinspect.toml").write_text("database-url = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a string"):
        resolve_settings(cwd=tmp_path, environ={})


def test_invalid_toml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "dbinspect.toml").write_text("database-url = \n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        resolve_settings(cwd=tmp_path, environ={})
    assert "dbinspect.toml" in caught.value.message
    assert "\n" not in caught.value.one_line()


def test_empty_environment_value_falls_through(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:dotenv.db\n", encoding="utf-8")
    settings = resolve_settings(cwd=tmp_path, environ={"DATABASE_URL": ""})
    assert settings.url is not None and settings.url.path == Path("dotenv.db")


# --- Migrations folder and sqlx.toml ---------------------------------------------------


def test_sqlx_toml_settings(tmp_path: Path) -> None:
    (tmp_path / "sqlx.toml").write_text(
        '[migrate]\nignored-chars = ["\\r", " "]\ntable-name = "_history"\n'
        'migrations-dir = "db/migrations"\n',
        encoding="utf-8",
    )
    sqlx, origin = load_sqlx_settings(tmp_path)
    assert origin == tmp_path / "sqlx.toml"
    assert sqlx == SqlxSettings(("\r", " "), "_history", "db/migrations")
    settings = resolve_settings(cwd=tmp_path, environ={})
    assert settings.migrations.path == tmp_path / "db" / "migrations"
    assert settings.migrations.explicit is True
    assert settings.sqlx.table_name == "_history"


def test_sqlx_toml_defaults(tmp_path: Path) -> None:
    (tmp_path / "sqlx.toml").write_text("[other]\nx = 1\n", encoding="utf-8")
    sqlx, _ = load_sqlx_settings(tmp_path)
    assert sqlx == SqlxSettings((), DEFAULT_TABLE_NAME, None)


@pytest.mark.parametrize(
    "body",
    [
        '[migrate]\nignored-chars = "\\r"\n',
        "[migrate]\nignored-chars = [1, 2]\n",
        "[migrate]\ntable-name = 5\n",
        "[migrate]\nmigrations-dir = false\n",
        'migrate = "not a table"\n',
    ],
)
def test_sqlx_toml_bad_values(tmp_path: Path, body: str) -> None:
    (tmp_path / "sqlx.toml").write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_sqlx_settings(tmp_path)
    assert "sqlx.toml" in caught.value.message


def test_migrations_folder_precedence(tmp_path: Path) -> None:
    (tmp_path / "sqlx.toml").write_text('[migrate]\nmigrations-dir = "from_sqlx"\n')
    (tmp_path / "dbinspect.toml").write_text('migrations = "from_config"\n')
    environ = {"DBINSPECT_MIGRATIONS": "from_env"}
    assert (
        resolve_settings(source="from_flag", cwd=tmp_path, environ=environ).migrations.path
        == tmp_path / "from_flag"
    )
    assert resolve_settings(cwd=tmp_path, environ=environ).migrations.path == tmp_path / "from_env"
    assert resolve_settings(cwd=tmp_path, environ={}).migrations.path == tmp_path / "from_sqlx"
    (tmp_path / "sqlx.toml").unlink()
    only_config = resolve_settings(cwd=tmp_path, environ={}).migrations
    assert only_config.path == tmp_path / "from_config"
    assert only_config.explicit is True
    absolute = resolve_settings(source=str(tmp_path / "abs"), cwd=tmp_path, environ={})
    assert absolute.migrations.path == tmp_path / "abs"
