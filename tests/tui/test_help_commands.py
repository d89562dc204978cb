"""Tests that the Help pane's commands run as printed, filled in for the selected migration.

Every dbinspect command it prints is run (the ones that open the app in a terminal, quit
with `q`); the sqlite3 commands run on the system's sqlite3 shell. sqlx-cli is not
installed here, so its commands are checked for form: a URL its parser accepts, and only
flags it has (both as in sqlx-cli/src/opt.rs and sqlx-sqlite/src/options/parse.rs).
"""

from __future__ import annotations

import os
import pty
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, unquote_to_bytes

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from textual.pilot import Pilot

from dbinspect.errors import DbInspectError
from dbinspect.migrate import run_migrations
from dbinspect.ops.demo import SAMPLE_MIGRATIONS
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.panes.help import HelpContext, HelpPane, commands, shell_url
from dbinspect.tui.panes.migrations import MigrationsPane
from dbinspect.tui.screens.dialogs import ConfirmScreen
from dbinspect.tui.session import display_path
from dbinspect.url import parse_url
from tui.helpers import SIZE, OpenApp, applied_versions, plain, settle

Rows = list[tuple[str, str, str]]

# sqlx-cli's `migrate` subcommands and their flags (sqlx-cli/src/opt.rs): ConnectOpts,
# MigrationSourceOpt, ConfigOpt and NoDotenvOpt, plus each subcommand's own.
_CONNECT = {"--database-url", "-D", "--connect-timeout", "--sqlite-create-db-wal", "--no-dotenv"}
_COMMON = {"--source", "--config", "--no-dotenv"}
SQLX_FLAGS = {
    "info": _COMMON | _CONNECT,
    "run": _COMMON | _CONNECT | {"--dry-run", "--ignore-missing", "--target-version"},
    "revert": _COMMON | _CONNECT | {"--dry-run", "--ignore-missing", "--target-version"},
    "add": _COMMON | {"--simple", "-r", "--reversible", "-t", "--timestamp", "-s", "--sequential"},
}
SQLX_VALUED = {"--database-url", "-D", "--connect-timeout", "--sqlite-create-db-wal", "--source",
               "--config", "--target-version"}  # fmt: skip
SQLX_POSITIONALS = {"info": 0, "run": 0, "revert": 0, "add": 1}
SQLITE_PARAMS = {
    "mode": {"ro", "rw", "rwc", "memory"},
    "cache": {"private", "shared"},
    "immutable": {"true", "1", "false", "0"},
}


def sqlx_sqlite_file(url: str) -> str:
    """The file sqlx-cli opens for `--database-url url`, or AssertionError where it fails.

    sqlx-cli parses the text with the `url` crate (a text without a scheme fails with
    "relative URL without a base"), picks the driver by scheme, and hands `url.as_str()` to
    `SqliteConnectOptions::from_str`: that strips `sqlite://` and `sqlite:`, splits the
    parameters off at the first `?` and percent-decodes the rest as UTF-8.
    """
    scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url)
    assert scheme, f"relative URL without a base: {url!r}"
    assert scheme.group(0).lower() == "sqlite:", url
    # The URL parser would drop or rewrite these; a URL without them is kept as written.
    assert url.isascii() and not re.search(r"[\x00-\x20\x7f#]", url), url
    rest = "sqlite:" + url[len("sqlite:") :]
    while rest.startswith("sqlite://"):
        rest = rest[len("sqlite://") :]
    while rest.startswith("sqlite:"):
        rest = rest[len("sqlite:") :]
    database, _, params = rest.partition("?")
    for key, value in parse_qsl(params, keep_blank_values=True):
        assert key in SQLITE_PARAMS or key == "vfs", (key, url)
        assert key == "vfs" or value in SQLITE_PARAMS[key], (key, value, url)
    return unquote_to_bytes(database).decode("utf-8")  # strict, as sqlx's decode_utf8()


def check_sqlx_command(command: str, cwd: Path, database: Path) -> None:
    """`command` is a sqlx-cli command that would open `database` with flags sqlx has."""
    argv = shlex.split(command)
    assert argv[:2] == ["sqlx", "migrate"], command
    subcommand, args = argv[2], argv[3:]
    assert subcommand in SQLX_FLAGS, command
    positionals: list[str] = []
    values: dict[str, str] = {}
    while args:
        arg = args.pop(0)
        if not arg.startswith("-"):
            positionals.append(arg)
            continue
        assert arg in SQLX_FLAGS[subcommand], (arg, command)
        if arg in SQLX_VALUED:
            values[arg] = args.pop(0)
    assert len(positionals) == SQLX_POSITIONALS[subcommand], command
    if subcommand != "add":
        url = values.get("--database-url") or values["-D"]
        assert (cwd / sqlx_sqlite_file(url)).resolve() == database.resolve(), command
    assert (cwd / values["--source"]).is_dir(), command
    if "--target-version" in values:
        assert -(2**63) <= int(values["--target-version"]) < 2**63, command


def run_in_terminal(argv: list[str], cwd: Path, timeout: float = 30) -> int:
    """Run the app in a pseudo-terminal, press `q` once it has drawn, and return its status."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        argv,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=cwd,
        env={**clean_env(), "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"},
    )
    os.close(follower)
    seen, pressed = b"", False
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(leader, 65536)
                except OSError:  # EIO: the app has closed the terminal
                    break
            if not pressed and b"Migrations" in seen:  # the tabs are drawn
                os.write(leader, b"q")
                pressed = True
        return process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()


def clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if k != "DATABASE_URL" and (k == "DBINSPECT_SQLITE" or not k.startswith("DBINSPECT_"))
    }


def run_printed(command: str, cwd: Path) -> subprocess.CompletedProcess[str] | int:
    """Run a printed dbinspect command in `cwd` (the app in a terminal, quit with `q`)."""
    argv = [sys.executable, "-m", "dbinspect", *shlex.split(command)[1:]]
    if shlex.split(command)[1] in {"info", "schema", "migrate"}:
        return subprocess.run(
            argv, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=60
        )
    return run_in_terminal(argv, cwd)


def copy_project(source: Path, target: Path) -> Path:
    """A fresh copy of the database and its migrations folder, for one command to change."""
    target.mkdir()
    shutil.copytree(source / "migrations", target / "migrations")
    shutil.copy2(source / "app.db", target / "app.db")
    return target


def help_rows(app: DbInspectApp) -> Rows:
    context = app.screen.query_one(HelpPane).command_context
    assert context is not None
    rows = commands(context)
    shown = plain(app.screen.query_one("#help-commands"), width=400)
    for what, ours, _ in rows:
        assert what in shown and ours in shown
    return rows


def row(rows: Rows, prefix: str) -> tuple[str, str, str]:
    return next(r for r in rows if r[0].startswith(prefix))


async def move(pilot: Pilot[None], key: str) -> int:
    """Press `key` in the Migrations table; returns the version under the cursor."""
    await pilot.press(key)
    await settle(pilot)
    selected = pilot.app.screen.query_one(MigrationsPane).selected
    assert selected is not None
    return selected.version


@pytest.fixture
async def half_migrated(workdir: Path) -> Path:
    """`app.db` with migrations 1 and 2 of the sample set applied, 3 to 5 pending."""
    path = workdir / "app.db"
    await run_migrations(parse_url(str(path)), SAMPLE_MIGRATIONS, target_version=2)
    return path


async def test_jkgg_move_in_the_migrations_table_and_the_help_follows(
    half_migrated: Path, open_app: OpenApp
) -> None:
    async with open_app(half_migrated) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        table = app.screen.query_one(MigrationsPane).table
        assert table.has_focus
        assert await move(pilot, "j") == 2
        assert await move(pilot, "j") == 3
        assert await move(pilot, "k") == 2
        assert row(help_rows(app), "Migrate to 2")[1] == "(The database is already at version 2)"
        assert await move(pilot, "k") == 1
        assert row(help_rows(app), "Migrate to 1")[1].endswith("migrate revert "
            "--database-url sqlite:app.db --source migrations --target-version 1")  # fmt: skip
        assert await move(pilot, "G") == 5
        assert table.cursor_row == 4
        rows = help_rows(app)
        assert row(rows, "Migrate to 5")[1].endswith("--target-version 5")
        assert " run " in row(rows, "Migrate to 5")[1]
        assert row(rows, "Accept an edited file")[1] == "(select an applied migration)"
        assert await move(pilot, "g") == 1
        assert table.cursor_row == 0
        assert await move(pilot, "k") == 1
        assert row(help_rows(app), "Accept an edited file")[1].startswith(
            "dbinspect migrate restamp 1 "
        )
        assert not isinstance(app.screen, ConfirmScreen)  # g and G started no action


@pytest.fixture
async def printed(half_migrated: Path, open_app: OpenApp) -> dict[str, Rows]:
    """The Help pane's rows with version 1 selected ("down") and with version 4 ("up")."""
    shown: dict[str, Rows] = {}
    async with (
        open_app(half_migrated, source="migrations") as app,
        app.run_test(size=SIZE) as pilot,
    ):
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        assert await move(pilot, "g") == 1
        shown["down"] = help_rows(app)
        assert await move(pilot, "G") == 5
        assert await move(pilot, "k") == 4
        shown["up"] = help_rows(app)
    return shown


def test_every_printed_command_runs(
    half_migrated: Path, printed: dict[str, Rows], tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = half_migrated.parent
    for rows in printed.values():
        text = "\n".join(f"{ours}\n{theirs}" for _, ours, theirs in rows)
        assert "run|revert" not in text
        assert not re.search(r"\bV\b", text)  # no placeholder versions
        assert "--database-url sqlite:app.db --source migrations" in text
        assert "sample_migrations" not in text
        assert row(rows, "Apply next")[1].endswith("--target-version 3")
    assert row(printed["down"], "Migrate to 1")[1].endswith(
        "migrate revert --database-url sqlite:app.db --source migrations --target-version 1"
    )
    assert row(printed["up"], "Migrate to 4")[1].endswith(
        "migrate run --database-url sqlite:app.db --source migrations --target-version 4"
    )

    outcomes = {
        "Apply next (a)": [1, 2, 3],
        "Apply all (A)": [1, 2, 3, 4, 5],
        "Revert last (r)": [1],
        "Migrate to 1 (t)": [1],
        "Migrate to 4 (t)": [1, 2, 3, 4],
        "Open this app": [1, 2, 3, 4, 5],  # the configured folder is applied on launch
        "... without migrating": [1, 2],
    }
    sqlite3_shell = shutil.which("sqlite3")
    ran = 0
    for label, rows in printed.items():
        for what, ours, theirs in rows:
            if ours.startswith("dbinspect "):
                cwd = copy_project(workdir, tmp_path_factory.mktemp(label) / "project")
                result = run_printed(ours, cwd)
                status = result if isinstance(result, int) else result.returncode
                assert status == 0, (ours, result)
                ran += 1
                if what in outcomes:
                    assert applied_versions(cwd / "app.db") == outcomes[what], ours
            else:
                assert ours.startswith("(") and theirs == "-", (what, ours)
            if theirs.startswith("sqlx "):
                check_sqlx_command(theirs, workdir, half_migrated)
            elif theirs.startswith("sqlite3 ") and sqlite3_shell is not None:
                shell = subprocess.run(
                    shlex.split(theirs), cwd=workdir, capture_output=True, text=True, timeout=30
                )
                assert (shell.returncode, shell.stderr) == (0, ""), (theirs, shell)
                assert shell.stdout.strip(), theirs
            else:
                assert theirs in ("-",) or theirs.startswith(("sqlx ", "sqlite3 ")), theirs
    assert ran >= 2 * 11


async def test_a_symlinked_folder_keeps_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_app: OpenApp
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DBINSPECT_MIGRATIONS", raising=False)
    shutil.copytree(SAMPLE_MIGRATIONS, tmp_path / "sample_migrations")
    (tmp_path / "migrations").symlink_to("sample_migrations")
    path = tmp_path / "app.db"
    await run_migrations(parse_url(str(path)), SAMPLE_MIGRATIONS, target_version=2)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        rows = help_rows(app)
        assert row(rows, "Migration status")[1] == (
            "dbinspect migrate info --database-url sqlite:app.db --source migrations"
        )
    assert display_path(tmp_path / "migrations", tmp_path) == "migrations"
    assert display_path(tmp_path / "elsewhere" / ".." / "migrations", tmp_path) == "migrations"


def plain_file_name(name: str) -> bool:
    """A name the command line opens as a file: not `.`, `..`, a URL, nor refused outright
    (`a:b@c` reads as a user and password)."""
    if name in (".", "..") or name.strip() != name:
        return False
    try:
        return parse_url(name).path == Path(name)
    except DbInspectError:
        return False


FILE_NAMES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
    min_size=1,
    max_size=20,
).filter(plain_file_name)


@settings(max_examples=60, deadline=None)
@given(name=FILE_NAMES)
def test_a_bare_path_is_printed_as_a_url_both_parsers_read_back(name: str) -> None:
    url = shell_url(parse_url(name))
    assert url.startswith("sqlite:")
    assert sqlx_sqlite_file(url) == name
    assert parse_url(url).path == Path(name)


def test_urls_given_as_urls_are_printed_as_given() -> None:
    for given_url in ("sqlite:app.db", "sqlite://app.db?mode=rwc", "sqlite:///tmp/app.db"):
        assert shell_url(parse_url(given_url)) == given_url
        sqlx_sqlite_file(given_url)
    assert shell_url(parse_url("/abs/my app.db")) == "sqlite:/abs/my%20app.db"


def test_the_commands_quote_what_a_shell_would_split() -> None:
    context = HelpContext("sqlite:my%20app.db", "my migrations", "my app.db")
    rows = commands(context)
    facts = row(rows, "Connection facts")[2]
    assert shlex.split(facts)[:3] == ["sqlite3", "-line", "my app.db"]
    assert shlex.split(row(rows, "Migration status")[2])[-2:] == ["--source", "my migrations"]
    dashed = commands(HelpContext("sqlite:-x.db", "migrations", "-x.db"))
    assert shlex.split(row(dashed, "Schema as SQL")[2]) == ["sqlite3", "./-x.db", ".schema"]


async def test_a_long_command_is_folded_never_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_app: OpenApp
) -> None:
    from tui.helpers import screen_text

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DBINSPECT_MIGRATIONS", raising=False)
    shutil.copytree(SAMPLE_MIGRATIONS, tmp_path / "migrations")
    name = "a_database_file_whose_name_is_longer_than_any_column_of_the_help_pane_" * 2
    path = tmp_path / f"{name}.db"
    await run_migrations(parse_url(str(path)), SAMPLE_MIGRATIONS, target_version=2)
    async with open_app(path) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        shown = screen_text(app)
        assert "Shell commands" in shown
        assert "…" not in shown
        # Every character of the name is on screen, folded over lines.
        assert name.replace("_", "") in re.sub(r"[\s│_]", "", shown)
