"""Command-line arguments that are not UTF-8: one `error:` line naming the argument.

A byte that is not UTF-8 reaches Python as a lone surrogate (`\\udcff` for 0xFF), which
is what each test passes: the subprocess gets the byte itself back.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from testkit import MakeDb, RunCli, clean_env

from dbinspect.cli import LAZY_COMMANDS, cli
from dbinspect.cli_args import TextCommand, undecodable_byte
from dbinspect.url import parse_url

OneLineError = Callable[..., str]
FF = "\udcff"  # the byte 0xFF, as Python decodes it from the command line


@pytest.fixture
def database(tmp_path: Path, make_db: MakeDb) -> Path:
    return make_db(tmp_path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["query", "{db}", f"select 1{FF}"], "the argument SQL"),
        (["query", "--database-url", "{db}", f"select '{FF}'"], "the argument SQL"),
        (["export", "{db}", f"t{FF}"], "the argument TABLE"),
        (["migrate", "add", "--source", "{dir}", f"a{FF}b"], "the argument NAME"),
        (["migrate", "run", "--target-version", f"1{FF}", "{db}"], "the option --target-version"),
        (["migrate", "restamp", f"2{FF}", "{db}"], "the argument VERSION"),
        (["migrate", "baseline", f"3{FF}", "{db}"], "the argument VERSION"),
        (["migrate", "recreate", f"t{FF}"], "the argument TABLE"),
        (["migrate", "recreate", "t", "--type", f"x=INT{FF}"], "the option --type"),
        (["migrate", "recreate", "t", "--name", f"n{FF}"], "the option --name"),
        (["info", "--load-extension", f"/tmp/e{FF}.so", "{db}"], "the option --load-extension"),
    ],
)
def test_an_argument_that_is_not_utf8_is_named(
    args: list[str], named: str, database: Path, tmp_path: Path, run_cli: RunCli,
    one_line_error: OneLineError,
) -> None:  # fmt: skip
    given = [a.format(db=database, dir=tmp_path / "migrations") for a in args]
    line = one_line_error(run_cli(*given), named, "is not valid UTF-8", "\\xff")
    assert "Traceback" not in line
    assert not (tmp_path / "migrations").exists()  # nothing was created


def test_paths_may_hold_any_bytes(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    database = make_db(tmp_path, "CREATE TABLE t(x); INSERT INTO t VALUES (7);", f"a{FF}b.db")
    exported = run_cli("export", database, "t", "-o", tmp_path / f"out{FF}.csv")
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / f"out{FF}.csv").read_bytes() == b"x\r\n7\r\n"
    queried = run_cli("query", "--format", "csv", "--log-file", tmp_path / f"l{FF}", database,
                      "select x from t")  # fmt: skip
    assert queried.returncode == 0, queried.stderr
    assert queried.stdout == "x\n7\n"
    # A folder that is not there is named as such, its byte escaped: no refusal of the path.
    missing = run_cli("migrate", "info", "--source", tmp_path / f"m{FF}", database)
    one_line_error(missing, "migrations folder not found", "m\\xff")


@pytest.mark.parametrize(
    ("url", "part"),
    [
        (f"postgres://postgres@127.0.0.1/db{FF}", "database name"),
        ("postgres://postgres@127.0.0.1/db%FF", "database name"),
        (f"postgres:///db{FF}", "database name"),
        (f"postgres://u{FF}@127.0.0.1/db", "user name"),
        (f"postgres://u:se{FF}cret@127.0.0.1/db", "password"),
        ("postgres://u:secret%FF@127.0.0.1/db", "password"),
        (f"postgres://h{FF}st/db", "host name"),
        (f"postgres://a,b{FF}/db", "host name"),
        (f"postgres://127.0.0.1:54{FF}/db", "port"),
        (f"postgres://[::1]:5{FF}/db", "port"),
        (f"postgres://127.0.0.1/db?sslmode=x{FF}", "value of the parameter sslmode"),
        ("postgres://127.0.0.1/db?options=%C3%FF", "value of the parameter options"),
        (f"postgres://127.0.0.1/db?k{FF}=1", "name of a parameter"),
    ],
)  # fmt: skip
def test_a_postgres_url_names_the_part_that_is_not_utf8(
    url: str, part: str, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    line = one_line_error(run_cli("info", url), f"the {part} in the URL", "is not valid UTF-8")
    assert "DNS" not in line
    assert "secret" not in line  # the password stays masked


def test_a_postgres_url_in_utf8_is_read_as_before() -> None:
    for url in (
        "postgres://postgres@127.0.0.1/caf%C3%A9?application_name=%C3%A9",
        "postgres://u:p%40ss@h:5432/db",
        "postgres://h/db?options=-c%20search_path%3Dx",
    ):
        assert parse_url(url).raw == url


def _commands(group: click.Group, ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from _commands(command, ctx)
        else:
            yield name, command


def test_every_command_refuses_arguments_that_are_not_utf8() -> None:
    ctx = click.Context(cli)
    found = dict(_commands(cli, ctx))
    assert set(LAZY_COMMANDS) - {"migrate"} <= set(found)
    assert {"add", "run", "recreate", "export", "query", "schema"} <= set(found)
    for name, command in found.items():
        assert isinstance(command, TextCommand), name


def test_help_is_shown_whatever_else_is_given(run_cli: RunCli) -> None:
    result = run_cli("query", "--help", f"select {FF}")
    assert result.returncode == 0
    assert "Usage: dbinspect query" in result.stdout


def test_undecodable_text_met_anywhere_else_is_one_line(tmp_path: Path) -> None:
    # The safety net under the arguments' checks: a command that meets such text deep
    # inside (here, a command that encodes it) still ends with one line, not a traceback.
    script = (
        "import click, sys\n"
        "from dbinspect.cli import cli, main\n"
        "@cli.command('encode-it')\n"
        "def encode_it():\n"
        "    'x\\udcff'.encode('utf-8')\n"
        "sys.argv = ['dbinspect', 'encode-it']\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=clean_env(),
        cwd=tmp_path, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: a name or value given is not valid UTF-8 (\\xff) and cannot be used here"
    ]


def test_undecodable_byte_says_where() -> None:
    assert undecodable_byte("plain") is None
    assert undecodable_byte(f"ab{FF}") == (2, "\\xff")
