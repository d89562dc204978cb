"""Tests that `.env` is found and read as sqlx-cli's dotenvy reads it, and never loaded.

Each case is one where a hand-written parser, or python-dotenv used as it comes, gives
another DATABASE_URL than dotenvy 0.15 (sqlx-cli's) does; the expected values are
dotenvy's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dbinspect.config import find_dotenv, read_dotenv, resolve_settings

RunCli = Callable[..., subprocess.CompletedProcess[str]]
OneLineError = Callable[..., str]


def _url_path(cwd: Path, dotenv: str, environ: dict[str, str] | None = None) -> Path | None:
    (cwd / ".env").write_text(dotenv, encoding="utf-8")
    url = resolve_settings(cwd=cwd, environ=environ or {}).url
    return url.path if url else None


@pytest.mark.parametrize(
    ("line", "path"),
    [
        # Quotes end the value; the comment after them is no part of it.
        ('DATABASE_URL="sqlite:a.db" # comment', "a.db"),
        ("DATABASE_URL='sqlite:a.db' # comment", "a.db"),
        ("DATABASE_URL=sqlite:a.db # comment", "a.db"),
        ("DATABASE_URL=sqlite:a#b.db", "a#b.db"),  # no space before '#': part of the value
        ("export DATABASE_URL=sqlite:exported.db", "exported.db"),
        ("  DATABASE_URL  =  sqlite:padded.db  ", "padded.db"),
        ('DATABASE_URL="sqlite:line\\nbreak.db"', "line\nbreak.db"),  # escapes in "..."
        ('DATABASE_URL="sqlite:quote\\"d.db"', 'quote"d.db'),
        ('DATABASE_URL="sqlite:multi\nline.db"', "multi\nline.db"),
    ],
)
def test_values_are_read_as_dotenvy_reads_them(tmp_path: Path, line: str, path: str) -> None:
    assert _url_path(tmp_path, f"# settings\n\n{line}\nOTHER=1\n") == Path(path)


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    assert _url_path(tmp_path, "\ufeffDATABASE_URL=sqlite:bom.db\n") == Path("bom.db")


def test_variables_expand_from_earlier_lines(tmp_path: Path) -> None:
    dotenv = "DIR=/srv/data\nDATABASE_URL=sqlite:${DIR}/app.db\n"
    assert _url_path(tmp_path, dotenv) == Path("/srv/data/app.db")
    quoted = 'DIR=/srv/data\nDATABASE_URL="sqlite:${DIR}/app.db"\n'
    assert _url_path(tmp_path, quoted) == Path("/srv/data/app.db")


def test_the_environment_wins_over_the_file_when_expanding(tmp_path: Path) -> None:
    # dotenvy never overrides a variable already set, so `${DIR}` is the environment's.
    dotenv = "DIR=/from/file\nDATABASE_URL=sqlite:${DIR}/app.db\n"
    assert _url_path(tmp_path, dotenv, {"DIR": "/from/env"}) == Path("/from/env/app.db")


def test_unknown_variables_expand_to_nothing(tmp_path: Path) -> None:
    assert _url_path(tmp_path, "DATABASE_URL=sqlite:${NOPE}app.db\n") == Path("app.db")


def test_single_quotes_expand_nothing(tmp_path: Path) -> None:
    dotenv = "DIR=/srv\nDATABASE_URL='sqlite:${DIR}/app.db'\n"
    assert _url_path(tmp_path, dotenv) == Path("${DIR}/app.db")


def test_the_first_of_two_values_counts(tmp_path: Path) -> None:
    dotenv = "DATABASE_URL=sqlite:first.db\nDATABASE_URL=sqlite:second.db\n"
    assert _url_path(tmp_path, dotenv) == Path("first.db")


def test_reading_stops_at_a_line_that_cannot_be_parsed(tmp_path: Path) -> None:
    after = "DATABASE_URL=sqlite:before.db\nnot a pair\nOTHER=1\n"
    assert _url_path(tmp_path, after) == Path("before.db")
    assert read_dotenv(tmp_path / ".env", {}) == ({"DATABASE_URL": "sqlite:before.db"}, 2)


def test_a_url_after_a_broken_line_is_an_error_naming_the_line(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    (tmp_path / ".env").write_text("A=1\nnot a pair\nDATABASE_URL=sqlite:x.db\n")
    one_line_error(run_cli("info"), f"{tmp_path / '.env'}: line 2")


def test_the_values_repr_hides_a_password(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=postgres://u:hunter2@h/db\n")
    dotenv = read_dotenv(tmp_path / ".env", {})
    assert dotenv.values["DATABASE_URL"] == "postgres://u:hunter2@h/db"
    assert "hunter2" not in repr(dotenv)
    assert "postgres://u:***@h/db" in repr(dotenv)


def test_the_file_is_never_loaded_into_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "DATABASE_URL=sqlite:a.db\nDBINSPECT_DOTENV_PROBE=1\nPATH=/nowhere\n", encoding="utf-8"
    )
    before = dict(os.environ)
    assert resolve_settings(cwd=tmp_path, environ={}).url is not None
    assert "DBINSPECT_DOTENV_PROBE" not in os.environ
    assert dict(os.environ) == before


def test_a_dotenv_cannot_set_dbinspect_variables(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    # DBINSPECT_LOG in .env would start logging if the file were loaded into os.environ.
    (tmp_path / ".env").write_text("DBINSPECT_LOG=nonsense\nDATABASE_URL=sqlite:a.db\n")
    result = run_cli("info")
    assert "DBINSPECT_LOG" not in result.stderr
    one_line_error(result, "a.db")


@pytest.mark.xfail(strict=True, reason="python-dotenv's syntax, where it is not dotenvy's")
@pytest.mark.parametrize(
    ("dotenv", "path"),
    [
        ("DIR=/srv\nDATABASE_URL=sqlite:$DIR/app.db\n", "/srv/app.db"),  # $VAR, no braces
        ("DATABASE_URL=sqlite:${NOPE:-fallback}.db\n", ".db"),  # no defaults in dotenvy
        ('DATABASE_URL="sqlite:\\$HOME.db"\n', "$HOME.db"),  # \$ is a plain $
    ],
)
def test_known_differences_from_dotenvy(tmp_path: Path, dotenv: str, path: str) -> None:
    assert _url_path(tmp_path, dotenv, {"HOME": "/root"}) == Path(path)


# --- Where the file is -------------------------------------------------------------------


def test_the_first_dotenv_upward_from_the_working_directory(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:top.db\n")
    assert (
        resolve_settings(cwd=deep, environ={}).url
        == resolve_settings(database="sqlite:top.db", cwd=deep, environ={}).url
    )
    (tmp_path / "a" / ".env").write_text("OTHER=1\n")  # the nearest file, even without it
    assert find_dotenv(deep) == tmp_path / "a" / ".env"
    assert resolve_settings(cwd=deep, environ={}).url is None


def test_a_dotenv_folder_is_passed_over(tmp_path: Path) -> None:
    (tmp_path / "sub" / ".env").mkdir(parents=True)
    (tmp_path / ".env").write_text("DATABASE_URL=sqlite:top.db\n")
    assert find_dotenv(tmp_path / "sub") == tmp_path / ".env"


def test_dotenv_upward_through_the_cli(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / ".env").write_text('DATABASE_URL="sqlite:missing.db" # the app\n')
    result = run_cli("info", cwd=tmp_path / "nested")
    one_line_error(result, "missing.db: no such database file")
    assert '"' not in result.stderr.split("missing.db")[0]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"DATABASE_URL=sqlite:\xff.db\n", "not valid UTF-8")],
)
def test_an_unreadable_dotenv_is_one_error_line(
    tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError, content: bytes, fragment: str
) -> None:
    (tmp_path / ".env").write_bytes(content)
    one_line_error(run_cli("info"), str(tmp_path / ".env"), fragment)


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment without DATABASE_URL or dbinspect settings, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and (k == "DBINSPECT_SQLITE" or not k.startswith("DBINSPECT_"))
    }
    return {**env, **(extra or {})}


# --- Start-up: python-dotenv is imported only when a .env has to be read -----------------


@pytest.mark.parametrize(
    ("args", "environ", "with_file", "imported"),
    [
        ("database='a.db'", {}, True, False),
        ("database_url='sqlite:a.db'", {}, True, False),
        ("", {"DATABASE_URL": "sqlite:a.db"}, True, False),
        ("", {}, False, False),
        ("", {}, True, True),
    ],
)
def test_dotenv_is_imported_only_when_needed(
    tmp_path: Path, args: str, environ: dict[str, str], with_file: bool, imported: bool
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    if with_file:
        (work / ".env").write_text("DATABASE_URL=sqlite:from_dotenv.db\n")
    code = (
        "import sys\n"
        "from dbinspect.config import resolve_settings\n"
        f"resolve_settings({args})\n"
        "print('dotenv' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env=_clean_env(environ),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.strip() == str(imported)
