"""The app on a PostgreSQL server: every pane on Chinook, live refresh, and a lost session.

Chinook is loaded once per module into a database of its own (dropped afterwards); what the
panes show is checked against what the catalog reports through psql.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pgkit import fresh_database, load_chinook, query, run_sql
from rich.console import Console
from textual.pilot import Pilot
from tui.helpers import SIZE, open_in_data, schema_read, screen_text, settle, wait_until

from dbinspect.backends import open_backend
from dbinspect.config import resolve_settings
from dbinspect.connections import ConnectionOwner
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.panes.schema_detail import render_object
from dbinspect.tui.panes.schema_tree import SchemaTree
from dbinspect.tui.session import Session


@pytest.fixture(scope="module")
def chinook_url() -> Iterator[str]:
    """A database holding Chinook, shared by this module's tests (which only read it)."""
    with fresh_database("dbi_chinook") as url:
        load_chinook(url)
        yield url


@asynccontextmanager
async def open_app(url: str, cwd: Path, source: str | None = None) -> AsyncIterator[DbInspectApp]:
    settings = resolve_settings(database=url, source=source, cwd=cwd)
    assert settings.url is not None
    backend = await open_backend(settings.url)
    session = Session(settings, settings.url, ConnectionOwner(settings.url, panes=backend), cwd=cwd)
    try:
        yield DbInspectApp(session)
    finally:
        await session.connections.aclose()


def psql(url: str, sql: str) -> str:
    """One value from psql, as psql prints it unaligned."""
    done = subprocess.run(
        ["psql", "-X", "-At", "-d", url, "-c", sql], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def psql_status(url: str, sql: str) -> int:
    """psql's exit status for `sql` (a statement it runs outside any transaction)."""
    return subprocess.run(
        ["psql", "-X", "-q", "-d", url, "-c", sql], capture_output=True
    ).returncode


async def shows(pilot: Pilot[None], app: DbInspectApp, *texts: str, limit: float = 15) -> str:
    await wait_until(pilot, lambda: all(t in screen_text(app) for t in texts), str(texts), limit)
    return screen_text(app)


async def at_schema(pilot: Pilot[None], app: DbInspectApp) -> None:
    """Once the schema is read, on the Schema pane, settled (to pick a table there)."""
    await schema_read(pilot, app)
    await pilot.press("3")
    await settle(pilot)


async def end_app_sessions(pilot: Pilot[None], url: str) -> None:
    """End every session the app holds on `url`'s database, as a DBA would, and wait
    until they are gone (terminating only signals: each backend then exits)."""
    server = url.rsplit("/", 1)[0] + "/test"
    ended = [
        pid
        for pid, terminated in query(
            server,
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'dbinspect'",
            (url.rsplit("/", 1)[1],),
        )
        if terminated
    ]
    assert len(ended) >= 1
    alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)"
    await wait_until(pilot, lambda: query(server, alive, (ended,)) == [(0,)], "sessions gone")


async def test_every_pane_shows_chinook_as_the_catalog_reports_it(
    chinook_url: str, tmp_path: Path
) -> None:
    database = chinook_url.rsplit("/", 1)[1]
    version = psql(chinook_url, "SHOW server_version").split()[0]
    tables = psql(
        chinook_url,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
    )
    last_customer = psql(
        chinook_url, "SELECT last_name FROM customer ORDER BY customer_id DESC LIMIT 1"
    )
    first_customer = psql(
        chinook_url, "SELECT last_name FROM customer ORDER BY customer_id LIMIT 1"
    )
    async with open_app(chinook_url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
        await schema_read(pilot, app)
        await pilot.press("1")
        text = await shows(pilot, app, f"PostgreSQL {version}", database)
        assert "postgres" in text  # the user
        await pilot.press("2")
        text = await shows(pilot, app, "Tables", "pg_total_relation_size")
        line = next(line for line in text.splitlines() if line.strip().startswith("Tables"))
        assert line.split()[-1] == tables
        await pilot.press("3")
        await settle(pilot)
        tree = app.screen.query_one(SchemaTree)
        assert "Schema public" in screen_text(app)
        await wait_until(pilot, lambda: tree.select_object("customer"), "customer in the tree")
        text = await shows(pilot, app, "table customer", "customer_id", "support_rep_id")
        schema = await app.session.backend.schema()
        customer = tree.selected_object
        assert customer is not None and customer.qualified_name == "public.customer"
        detail = Console(width=200, file=io.StringIO(), color_system=None)
        with detail.capture() as captured:
            detail.print(render_object(schema, customer))
        fks = psql(
            chinook_url,
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid = 'public.customer'::regclass",
        )
        assert f"Referenced by ({fks})" in captured.get()  # invoice.customer_id
        await open_in_data(pilot, app, "customer")
        text = await shows(pilot, app, first_customer)
        await pilot.press("end")
        await shows(pilot, app, last_customer)
        await pilot.press("5")
        await shows(pilot, app, "Migrations")


async def test_a_commit_by_another_session_shows_without_a_key(pg_url: str, tmp_path: Path) -> None:
    run_sql(
        pg_url,
        "CREATE TABLE note (id int PRIMARY KEY, body text); INSERT INTO note VALUES (1, 'first')",
    )
    async with open_app(pg_url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
        await at_schema(pilot, app)
        await open_in_data(pilot, app, "note")
        await shows(pilot, app, "first")
        # As wide as the column's first value: the grid keeps its widths while following.
        run_sql(pg_url, "INSERT INTO note VALUES (2, 'later')")
        # No bound on how soon: on a loaded machine any bound fails now and then.
        await shows(pilot, app, "later", limit=30.0)


async def test_the_app_reconnects_on_refresh_after_its_sessions_were_ended(
    pg_url: str, tmp_path: Path
) -> None:
    run_sql(pg_url, "CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (42)")
    async with open_app(pg_url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
        await at_schema(pilot, app)
        await open_in_data(pilot, app, "kept")
        await shows(pilot, app, "42")
        await end_app_sessions(pilot, pg_url)
        await pilot.press("R")
        await settle(pilot)
        await pilot.press("4")
        await shows(pilot, app, "42")
        run_sql(pg_url, "INSERT INTO kept VALUES (43)")
        await shows(pilot, app, "43")  # the watch reconnected too


async def test_the_migrations_pane_names_an_index_a_failed_concurrent_build_left_invalid(
    pg_url: str, tmp_path: Path
) -> None:
    run_sql(pg_url, "CREATE TABLE t (x int); INSERT INTO t VALUES (1), (1)")
    failed = psql_status(pg_url, "CREATE UNIQUE INDEX CONCURRENTLY t_x ON t (x)")
    assert failed != 0  # the duplicate fails the build, which leaves the index
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001_noop.sql").write_text("SELECT 1;\n")
    async with open_app(pg_url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
        await schema_read(pilot, app)
        await pilot.press("5")
        text = await shows(pilot, app, "t_x", "INVALID")
        assert "DROP INDEX CONCURRENTLY public.t_x" in text.replace("\n", " ").replace("  ", " ")


async def test_a_hostile_schema_name_is_shown_escaped_in_the_tree(
    pg_url: str, tmp_path: Path
) -> None:
    run_sql(pg_url, 'CREATE SCHEMA "evil\x1b[31mred"; CREATE TABLE "evil\x1b[31mred".t (id int)')
    async with open_app(pg_url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
        await schema_read(pilot, app)
        await pilot.press("3")
        text = await shows(pilot, app, "Schema evil")
        assert "\x1b" not in text
        assert "Schema evil\\x1b[31mred" in text


async def test_a_table_without_columns_answers_every_cell_key(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL allows `CREATE TABLE t ()`: its rows are there, with no cell to act on."""
    run_sql(
        pg_url,
        "CREATE TABLE empty_shape (); INSERT INTO empty_shape DEFAULT VALUES;"
        "CREATE TABLE other (id int)",  # the schema is read once a table shows columns
    )
    async with open_app(pg_url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
        await at_schema(pilot, app)
        pane = await open_in_data(pilot, app, "empty_shape")
        await wait_until(pilot, lambda: pane.grid.cursor_cached_row is not None, "the row")
        for key in ("f", "c", "enter", "C", "s", "slash"):
            await pilot.press(key)
            await settle(pilot)
            assert app.is_running, key
        shown = [n.message for n in app._notifications]
        assert "The table has no columns: no key to follow" in shown
        assert "The table has no columns: its rows hold no values" in shown


async def test_the_data_pane_reads_on_after_its_session_was_ended_without_a_key(
    pg_url: str, tmp_path: Path
) -> None:
    run_sql(
        pg_url,
        "CREATE TABLE many (id int PRIMARY KEY, label text);"
        "INSERT INTO many SELECT i, 'row ' || i FROM generate_series(1, 5000) i",
    )
    async with open_app(pg_url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
        await at_schema(pilot, app)
        await open_in_data(pilot, app, "many")
        await shows(pilot, app, "row 1")
        await end_app_sessions(pilot, pg_url)
        await pilot.press("end")  # rows not read yet, on a connection the server ended
        await shows(pilot, app, "row 5000")


async def test_a_table_locked_when_opened_is_read_once_the_lock_goes(
    pg_url: str, tmp_path: Path
) -> None:
    import psycopg

    run_sql(pg_url, "CREATE TABLE held (id int PRIMARY KEY); INSERT INTO held VALUES (7)")
    async with open_app(pg_url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
        await at_schema(pilot, app)
        holder = psycopg.connect(pg_url)  # a transaction of its own, held open
        try:
            holder.execute("LOCK TABLE held IN ACCESS EXCLUSIVE MODE")
            await open_in_data(pilot, app, "held")
            await shows(pilot, app, "rows not read: reading again soon", limit=20)
            assert "another session holds a lock" in " ".join(
                str(n.message) for n in app._notifications
            )
        finally:
            holder.rollback()
            holder.close()
        # No key: the pane reads again once the lock is gone.
        await shows(pilot, app, "1 row", limit=20)


async def test_the_data_header_names_a_tables_schema_beside_one_of_the_same_name(
    pg_url: str, tmp_path: Path
) -> None:
    from dbinspect.browse.protocol import Relation
    from dbinspect.tui.data import DataPane

    run_sql(
        pg_url,
        "CREATE TABLE dup (id int PRIMARY KEY); CREATE SCHEMA other;"
        "CREATE TABLE other.dup (id int PRIMARY KEY, dup_id int REFERENCES public.dup);"
        "INSERT INTO dup VALUES (1); INSERT INTO other.dup VALUES (5, 1)",
    )
    async with open_app(pg_url, tmp_path) as app, app.run_test(size=SIZE) as pilot:
        await at_schema(pilot, app)
        pane = app.screen.query_one(DataPane)
        pane.show(app.session.url, Relation("other", "dup"))
        await wait_until(pilot, lambda: pane.total == 1, "other.dup's row")
        assert str(app.screen.query_one("#data-title").render()) == "other.dup"
        pane.show(app.session.url, Relation("public", "dup"))
        await wait_until(pilot, lambda: pane.window.get(0) is not None, "public.dup's row")
        await settle(pilot)
        assert str(app.screen.query_one("#data-title").render()) == "dup"
