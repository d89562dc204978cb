"""Tests that a password never shows, whatever it holds and however the URL is written.

Each password is wrapped in two markers that appear nowhere else, so a mask that stops
early or starts late leaves a marker behind even when the password's own characters are
too common to look for (`/`, `a`, ...).
"""

from __future__ import annotations

import string
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbinspect.config import resolve_settings
from dbinspect.errors import ConfigError
from dbinspect.url import DatabaseUrl, mask_url, parse_url, without_password

RunCli = Callable[..., subprocess.CompletedProcess[str]]
OneLineError = Callable[..., str]

HEAD, TAIL = "Qv7Hd", "Zk4Wm"
SPECIAL = "/?#@:%&=' \"\\$"

# Any character but surrogates, NUL and line breaks, with the URL's delimiters likely.
CORES = st.text(
    alphabet=st.one_of(
        st.sampled_from(SPECIAL),
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00"),
    ),
    max_size=16,
)

# Each form puts the password where one URL syntax (or a malformed one) keeps it.
FORMS = {
    "userinfo": lambda pw: f"postgres://admin:{pw}@db.example:5432/app",
    "userinfo-encoded": lambda pw: f"postgresql://admin:{quote(pw, safe='')}@db.example/app",
    "userinfo-no-user": lambda pw: f"postgres://:{pw}@db.example/app",
    "userinfo-and-query": lambda pw: f"postgres://u:{pw}@h/app?sslmode=require&password={pw}",
    "userinfo-no-host": lambda pw: f"postgres://admin:{pw}@/app",
    "one-slash": lambda pw: f"postgres:/admin:{pw}@db.example/app",
    "query": lambda pw: f"postgres://db.example/app?user=me&password={pw}&sslmode=require",
    "query-encoded": lambda pw: f"postgres://db.example/app?password={quote(pw, safe='')}",
    "query-ssl": lambda pw: f"postgres://db.example/app?sslpassword={pw}",
    "query-encoded-key": lambda pw: f"postgres://db.example/app?pass%77ord={pw}",
    "sqlite-userinfo": lambda pw: f"sqlite://user:{pw}@host/app.db",
    "sqlite-single-colon": lambda pw: f"sqlite:user:{pw}@app.db",
    "sqlite-query": lambda pw: f"sqlite:app.db?password={pw}",
    "plain-path": lambda pw: f"user:{pw}@app.db",
    "key-value": lambda pw: f"host=h dbname=app password={pw}",
    "key-value-quoted": lambda pw: f"host=h password = '{pw}' sslmode=require",
    "key-value-first": lambda pw: f"password={pw} host=h",
    "unknown-scheme": lambda pw: f"mysql://admin:{pw}@db.example/app",
}


def _secret(core: str) -> str:
    return f"{HEAD}{core}{TAIL}"


def _assert_hidden(shown: str, password: str) -> None:
    for fragment in (HEAD, TAIL, password, quote(password, safe="")):
        assert fragment not in shown, (fragment, shown)


@pytest.mark.parametrize("form", sorted(FORMS))
@settings(max_examples=60, deadline=None)
@given(core=CORES)
def test_no_form_shows_the_password(form: str, core: str) -> None:
    password = _secret(core)
    text = FORMS[form](password)
    _assert_hidden(mask_url(text), password)
    try:
        url = parse_url(text)
    except ConfigError as error:  # refused: the one line printed must not show it either
        _assert_hidden(error.one_line(), password)
        return
    for shown in (url.masked, repr(url), str(url), f"{url}", repr([url]), repr({"u": url})):
        _assert_hidden(shown, password)
    assert url.raw == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgres://user:pa/ss@host/db", "postgres://user:***@host/db"),
        ("postgres://user:pa?ss@host/db", "postgres://user:***@host/db"),
        ("postgres://user:pa#ss@host/db", "postgres://user:***@host/db"),
        ("postgres://user:p@ss:w@host/db", "postgres://user:***@host/db"),
        ("postgres://user:p%2Fss@host/db", "postgres://user:***@host/db"),
        ("sqlite://user:secret@host/db.db", "sqlite://user:***@host/db.db"),
        ("host=h password=secret", "host=h password=***"),
        ("host=h password = 'sec ret' port=5", "host=h password =***"),
        ("postgres://h/db?password=a&b#c", "postgres://h/db?password=***"),
        ("postgres://u:x@h/db?password=s@cret", "postgres://u:***"),
    ],
)
def test_the_leaks_named_in_the_issue_are_masked(text: str, masked: str) -> None:
    assert mask_url(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "sqlite://user:secret@host/db.db",
        "sqlite:app.db?password=secret",
        "host=h password=secret",
        "dbname=app password=secret",
        "u:secret@app.db",  # one letter before ':' is a drive, so this is a path
    ],
)
def test_sqlite_urls_and_key_value_strings_with_a_password_are_refused(text: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_url(text)
    assert "secret" not in caught.value.one_line()
    assert "***" in caught.value.one_line()


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("sqlite:a%3Ab%40c.db", Path("a:b@c.db")),  # encoded, as sqlx decodes it
        ("sqlite:me@home.db", Path("me@home.db")),  # an '@' alone is no password
        ("sqlite:///srv/x@y.db", Path("/srv/x@y.db")),
    ],
)
def test_file_names_with_at_signs_are_still_paths(text: str, path: Path) -> None:
    assert parse_url(text).path == path


def test_settings_and_config_repr_hide_a_password_from_every_source(tmp_path: Path) -> None:
    password = _secret("p/ss?#@:")
    (tmp_path / "dbinspect.toml").write_text(
        f'database-url = "postgres://u:{password}@h/db"\n', encoding="utf-8"
    )
    for settings_ in (
        resolve_settings(cwd=tmp_path, environ={}),
        resolve_settings(cwd=tmp_path, environ={"DATABASE_URL": f"postgres://u:{password}@h/d"}),
    ):
        _assert_hidden(repr(settings_), password)
        assert isinstance(settings_.url, DatabaseUrl)


# --- Through the command line ------------------------------------------------------------

SUBPROCESS_CORES = st.text(
    alphabet=st.one_of(
        st.sampled_from(SPECIAL),
        st.sampled_from(string.ascii_letters + "é€𝄞"),
        st.characters(blacklist_categories=("Cs", "Cc")),
    ),
    max_size=10,
)


def _dotenv_line(url: str) -> str:
    escaped = url.replace("\\", "\\\\").replace("'", "\\'")
    return f"DATABASE_URL='{escaped}'\n"


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    core=SUBPROCESS_CORES,
    form=st.sampled_from(sorted(FORMS)),
    via=st.sampled_from(["argument", "environment", "dotenv"]),
)
def test_error_lines_and_logs_never_show_the_password(
    tmp_path_factory: pytest.TempPathFactory,
    run_cli: RunCli,
    one_line_error: OneLineError,
    core: str,
    form: str,
    via: str,
) -> None:
    password = _secret(core)
    url = FORMS[form](password)
    cwd = tmp_path_factory.mktemp("secrets")
    (cwd / "migrations").mkdir()
    log = cwd / "run.log"
    env = {"DBINSPECT_LOG": "debug"}
    url_args: list[str] = []
    if via == "argument":
        url_args = [url]
    elif via == "environment":
        env["DATABASE_URL"] = url
    else:
        (cwd / ".env").write_text(_dotenv_line(url), encoding="utf-8")
    info = run_cli("info", "--log-file", log, *url_args, cwd=cwd, env=env)
    migrate_args = ["-D", url] if url_args else []
    migrate = run_cli("migrate", "info", "--log-file", log, *migrate_args, cwd=cwd, env=env)
    for result in (info, migrate):
        line = one_line_error(result)
        _assert_hidden(line, password)
        _assert_hidden(result.stdout, password)
    if log.exists():
        _assert_hidden(log.read_text(encoding="utf-8"), password)


def test_a_refused_postgres_url_is_logged_masked(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    log = tmp_path / "run.log"
    url = "postgres://admin:hunter2/x@db.example/app"
    result = run_cli("info", "--log-file", log, url)
    one_line_error(result)
    text = log.read_text(encoding="utf-8")
    assert "postgres://admin:***@db.example/app" in text
    assert "hunter2" not in text + result.stderr


@pytest.mark.parametrize(
    ("url", "runnable"),
    [
        ("postgres://u:p@h/db", "postgres://u@h/db"),
        ("postgres://u:p@h/db?sslmode=require&password=x&y=1", "postgres://u@h/db?sslmode=require"),
        ("postgresql://u@h/db?password=x", "postgresql://u@h/db"),
        ("postgresql://h:5433/db", "postgresql://h:5433/db"),
        ("postgres://u:p%40s:@h:5432/db?sslpassword=q", "postgres://u@h:5432/db"),
    ],
)
def test_commands_meant_to_run_leave_the_password_out(url: str, runnable: str) -> None:
    assert without_password(url) == runnable


@given(st.text(min_size=1).filter(lambda p: p.strip() and "@" not in p))
def test_no_password_survives_in_a_runnable_url(password: str) -> None:
    for url in (f"postgres://user:{password}@host/db", f"postgres://host/db?password={password}"):
        shown = without_password(url)
        assert mask_url(shown) == shown  # nothing left that looks like a password
        assert shown.startswith("postgres://") and shown.endswith(("host/db", "host/db?"))


def test_a_short_password_parameter_beside_a_url_in_a_message_is_masked() -> None:
    from dbinspect.url import mask_secrets

    said = mask_secrets(
        "x host=h password=ab dbname=d postgresql://u@h/db", "postgresql://u@h/db?password=ab"
    )
    assert "ab" not in said.replace("dbname", "") and said.startswith("x host=h password=***")
