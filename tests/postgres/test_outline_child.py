"""The first frame's outline read in a child process, and the app that starts from it.

On PostgreSQL the launch forks a child that imports the driver, connects and reads the
schemas, tables and views while the app imports Textual; the app opens its own
connection after the first frame.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pgkit import run_sql
from tui.helpers import SIZE, main_screen, settle, wait_until

from dbinspect.backends import open_backend
from dbinspect.backends.postgres_prefetch import OutlineChild, outline_child
from dbinspect.config import resolve_settings
from dbinspect.connections import ConnectionOwner
from dbinspect.errors import ConnectError, DbInspectError
from dbinspect.models import Schema
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.launch import child_outline
from dbinspect.tui.panes.schema_tree import SchemaTree
from dbinspect.tui.session import Session
from dbinspect.url import parse_url


def names(schema: Schema) -> set[tuple[str | None, str, str]]:
    return {(o.schema, o.name, o.kind) for o in schema.objects}


def other_database(pg_url: str, name: str) -> str:
    return pg_url.rsplit("/", 1)[0] + "/" + name


def start_child(url: str) -> OutlineChild:
    # pytest's own threads (none by default) would make the launch read in-process.
    child = OutlineChild.start(parse_url(url))
    assert child is not None, "no fork here: the launch reads the outline itself"
    return child


async def test_the_child_reads_what_the_quick_outline_reads(pg_url: str) -> None:
    run_sql(
        pg_url,
        'CREATE SCHEMA "shop ☕"; CREATE TABLE "shop ☕".item (id int);'
        " CREATE VIEW v AS SELECT 1 AS one; COMMENT ON TABLE \"shop ☕\".item IS 'x\ny'",
    )
    child = start_child(pg_url)
    try:
        schema = await child.schema()
    finally:
        child.stop()
    backend = await open_backend(parse_url(pg_url))
    try:
        quick = await backend.quick_outline()
    finally:
        await backend.aclose()
    assert schema is not None and quick is not None
    assert names(schema) == names(quick)
    assert ("shop ☕", "item", "table") in names(schema)
    item = schema.get("shop ☕.item")
    assert item is not None and item.comment == "x\ny"


async def test_a_database_that_cannot_be_opened_is_the_error_open_backend_gives(
    pg_url: str,
) -> None:
    url = other_database(pg_url, "dbi_no_such_database")
    child = start_child(url)
    with pytest.raises(ConnectError) as from_child:
        await child.schema()
    with pytest.raises(ConnectError) as in_process:
        await open_backend(parse_url(url))
    assert from_child.value.one_line() == in_process.value.one_line()
    assert "does not exist" in from_child.value.one_line()


async def test_stop_ends_a_child_still_waiting_for_the_server(pg_url: str) -> None:
    # A listening socket that never answers: libpq waits for its connect_timeout.
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        child = start_child(f"postgres://postgres@127.0.0.1:{port}/x?connect_timeout=30")
        reading = asyncio.ensure_future(child.schema())
        await asyncio.sleep(0.5)
        assert not reading.done()
        child.stop()
        assert await asyncio.wait_for(reading, 5) is None  # the app would read it itself
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)  # reaped: no zombie left behind


async def test_the_app_starts_from_the_outline_and_connects_after_the_first_frame(
    pg_url: str, tmp_path: Path
) -> None:
    run_sql(pg_url, "CREATE TABLE early (id int PRIMARY KEY, label text)")
    settings = resolve_settings(database=pg_url, cwd=tmp_path)
    assert settings.url is not None
    child = start_child(pg_url)
    quick = await child.schema()
    assert quick is not None
    outline: asyncio.Future[Schema] = asyncio.get_running_loop().create_future()
    outline.set_result(quick)
    owner = ConnectionOwner(settings.url)  # no panes connection yet
    session = Session(settings, settings.url, owner, cwd=tmp_path, outline=outline)
    app = DbInspectApp(session)
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = main_screen(app)
            tree = app.screen.query_one(SchemaTree)
            assert tree.select_object("early")  # in the very first frame
            await wait_until(
                pilot,
                lambda: (
                    screen.schema_ is not None
                    and any(o.name == "early" and o.columns for o in screen.schema_.objects)
                ),
                "the full schema read on the app's own connection",
            )
            await wait_until(pilot, lambda: screen.facts is not None, "the facts read")
            assert owner.peek("panes") is not None
            await settle(pilot)
    finally:
        await owner.aclose()


async def test_the_panes_connection_opens_once_for_all_who_ask(pg_url: str) -> None:
    owner = ConnectionOwner(parse_url(pg_url))
    try:
        first, second = await asyncio.gather(owner.get("panes"), owner.get("panes"))
        assert first is second is owner.panes
    finally:
        await owner.aclose()
    with pytest.raises(DbInspectError):
        await owner.get("panes")  # closed: nothing opens any more


def test_a_refused_connection_is_one_line_before_the_app_starts(pg_url: str) -> None:
    url = other_database(pg_url, "dbi_no_such_database")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "dbinspect", url, "--no-migrate"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "does not exist" in lines[0]


def test_stop_reaps_a_child_whose_outline_was_never_asked_for(pg_url: str) -> None:
    child = start_child(pg_url)  # the launch failed before reading it (--create --read-only)
    child.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(child.pid, 0)  # killed and reaped, not a zombie
    child.stop()  # a second stop is harmless


def test_the_outline_is_read_early_only_when_no_migration_comes_first(
    pg_url: str, tmp_path: Path
) -> None:
    (tmp_path / "migrations").mkdir()
    migrating = resolve_settings(database=pg_url, source="migrations", cwd=tmp_path)
    assert migrating.migrations.explicit
    assert outline_child(migrating, migrate_on_launch=True, read_only=False) is None
    sqlite = resolve_settings(database=str(tmp_path / "app.db"), cwd=tmp_path)
    assert outline_child(sqlite, migrate_on_launch=True, read_only=False) is None
    for settings, migrate_on_launch, read_only in (
        (migrating, False, False),  # --no-migrate
        (migrating, True, True),  # --read-only: nothing is applied
        (resolve_settings(database=pg_url, cwd=tmp_path), True, False),
    ):
        child = outline_child(settings, migrate_on_launch=migrate_on_launch, read_only=read_only)
        assert child is not None
        child.stop()


async def test_the_app_may_start_once_the_child_has_connected(pg_url: str) -> None:
    run_sql(pg_url, "CREATE TABLE later (id int)")
    child = start_child(pg_url)
    try:
        assert await child.connected()
        schema = await child.schema()
    finally:
        child.stop()
    assert schema is not None and schema.get("public.later") is not None


async def test_a_refused_connection_is_known_before_the_app_starts(pg_url: str) -> None:
    child = start_child(other_database(pg_url, "dbi_no_such_database"))
    with pytest.raises(ConnectError, match="does not exist"):
        await child.connected()


async def test_a_child_that_ended_without_a_word_leaves_the_reading_to_the_app(
    pg_url: str,
) -> None:
    child = start_child(pg_url)
    child.stop()  # killed, as if it had crashed
    assert not await child.connected()
    assert await child.schema() is None


async def test_the_launch_reads_the_outline_itself_when_the_child_said_nothing(
    pg_url: str,
) -> None:
    run_sql(pg_url, "CREATE TABLE mine (id int)")
    child = start_child(pg_url)
    child.stop()
    owner = ConnectionOwner(parse_url(pg_url))
    try:
        schema = await child_outline(child, owner)
        assert schema.get("public.mine") is not None
        assert owner.peek("panes") is not None  # read on the app's own connection
    finally:
        await owner.aclose()
