"""Pilot tests of SQLite extensions in the app: consent for the config file's, the
migration confirmation listing sqlx.toml's, and the Connection pane naming the library."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from dbinspect import sqlite_driver as driver
from dbinspect.backends import open_backend
from dbinspect.cli_extensions import with_extensions
from dbinspect.config import resolve_settings
from dbinspect.connections import ConnectionOwner
from dbinspect.errors import QueryError
from dbinspect.extensions import Extension
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.screens.dialogs import ConfirmScreen, ReportScreen
from dbinspect.tui.session import Session
from tui.helpers import SIZE, applied_versions, main_screen, plain, settle

# Run on the standard library's sqlite3 too: what the app offers and shows depends on it.
pytestmark = pytest.mark.sqlite_library
VEC_ENTRYPOINT = "sqlite3_vec_init"
needs_loading = pytest.mark.skipif(
    not driver.can_load_extensions(), reason="this SQLite build cannot load extensions"
)
OpenSession = Callable[[Path], AbstractAsyncContextManager[DbInspectApp]]
VEC_MIGRATIONS = {
    "0001_items.sql": "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
    "0002_embeddings.sql": (
        "CREATE VIRTUAL TABLE embeddings USING vec0(embedding float[3]);\n"
        "INSERT INTO embeddings (rowid, embedding) VALUES (1, '[1, 2, 3]');\n"
        "CREATE TABLE embedding_sizes AS SELECT rowid AS id, vec_length(embedding) AS dims\n"
        "    FROM embeddings;\n"
    ),
}


@pytest.fixture
def vec() -> str:
    """sqlite-vec's library, without its suffix, as `sqlite_vec.loadable_path()` gives it."""
    sqlite_vec = pytest.importorskip("sqlite_vec")
    return str(sqlite_vec.loadable_path())


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory with no database settings from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "DBINSPECT_MIGRATIONS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def open_session() -> OpenSession:
    """`async with open_session(path) as app:` the app as `dbinspect open` starts it.

    The extensions come from the files beside `path`, chosen as the command line
    chooses them (no flags), and the first connection loads what is already allowed.
    """

    @asynccontextmanager
    async def factory(path: Path) -> AsyncIterator[DbInspectApp]:
        settings = resolve_settings(database=path.name, cwd=path.parent)
        settings = with_extensions(settings)
        assert settings.url is not None
        backend = await open_backend(settings.url, extensions=settings.extensions.inspection)
        owner = ConnectionOwner(settings.url, settings.extensions.inspection, panes=backend)
        session = Session(settings, settings.url, owner, path_label=path.name, cwd=path.parent)
        try:
            yield DbInspectApp(session)
        finally:
            await session.connections.aclose()

    return factory


def make_db(path: Path, vec: str | None = None) -> Path:
    """A small database; with `vec`, also a vec0 table (built with the extension loaded)."""
    conn = driver.connect(path)
    try:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO items VALUES (1, 'first')")
        if vec is not None:
            driver.load_extensions(conn, [Extension(vec)])
            conn.execute("CREATE VIRTUAL TABLE embeddings USING vec0(embedding float[3])")
            conn.execute("INSERT INTO embeddings (rowid, embedding) VALUES (1, '[1, 2, 3]')")
        conn.commit()
    finally:
        conn.close()
    return path


def write_config(folder: Path, path: str) -> None:
    (folder / "dbinspect.toml").write_text(
        f"load-extensions = [{json.dumps(path)}]\n", encoding="utf-8"
    )


def connection_row(app: DbInspectApp, label: str) -> str:
    """The value the Connection pane shows for `label`."""
    text = plain(main_screen(app).query_one("#connection-facts"), width=240)
    for line in text.splitlines():
        if line.strip().startswith(label):
            return line.strip()[len(label) :].strip()
    raise AssertionError(f"no {label} row in:\n{text}")


def dialog_text(app: DbInspectApp) -> tuple[str, str]:
    """(title, body) of the confirmation on top."""
    screen = app.screen
    assert isinstance(screen, ConfirmScreen), screen
    title = plain(screen.query_one("#dialog-title"))
    return title, plain(screen.query_one("#dialog-body Static"), width=240)


# --- Consent for the config file's extensions -------------------------------------------


async def test_config_extensions_wait_for_consent_and_no_loads_nothing(
    project: Path, open_session: OpenSession
) -> None:
    # A path that cannot load: declining must not even try it.
    planted = str(project / "planted" / "ext")
    write_config(project, planted)
    db = make_db(project / "app.db")

    async with open_session(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        title, body = dialog_text(app)
        assert title.strip() == "Load extensions from the config file?"
        assert planted in body
        assert "dbinspect.toml" in body

        await pilot.press("n")
        await settle(pilot)

        assert not isinstance(app.screen, (ConfirmScreen, ReportScreen))
        assert connection_row(app, "Extensions") == "none"
        session = main_screen(app).session
        assert session.backend.extensions == ()  # type: ignore[attr-defined]
        assert session.extensions == ()
        assert session.settings.sqlx.extensions == ()  # nor for migrations
        assert session.connections.extensions == ()  # every reading connection


@needs_loading
async def test_consent_loads_config_extensions_everywhere(
    project: Path, open_session: OpenSession, vec: str
) -> None:
    write_config(project, vec)
    db = make_db(project / "app.db", vec=vec)

    async with open_session(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert vec in dialog_text(app)[1]
        session = main_screen(app).session
        # Before the answer nothing is loaded: the vec0 table cannot be read.
        assert connection_row(app, "Extensions") == "none"
        with pytest.raises(QueryError, match="no such module: vec0"):
            await session.backend.fetch_rows("embeddings")

        await pilot.press("y")
        await settle(pilot)

        assert not isinstance(app.screen, (ConfirmScreen, ReportScreen))
        assert connection_row(app, "Extensions") == vec
        backend = session.backend
        assert backend.extensions == (Extension(vec),)  # type: ignore[attr-defined]
        page = await backend.fetch_rows("embeddings")
        assert page.rows[0][0] == 1
        assert session.connections.extensions == (Extension(vec),)  # the Data pane too
        assert session.settings.sqlx.extensions == (Extension(vec),)  # migrations too


async def test_without_a_config_file_nothing_is_asked(
    project: Path, open_session: OpenSession
) -> None:
    db = make_db(project / "app.db")
    async with open_session(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert connection_row(app, "Extensions") == "none"


# --- The library in use -------------------------------------------------------------------


async def test_connection_pane_names_the_library(project: Path, open_session: OpenSession) -> None:
    db = make_db(project / "app.db")
    async with open_session(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        backend = connection_row(app, "Backend")
    assert backend == f"SQLite {driver.LIBRARY_VERSION} ({driver.LIBRARY_SOURCE} library)"
    if driver.BUNDLED:
        sqlean = pytest.importorskip("sqlean")
        assert backend == f"SQLite {sqlean.sqlite_version} (bundled library)"
    else:
        import sqlite3

        assert backend == f"SQLite {sqlite3.sqlite_version} (system library)"


# --- sqlx.toml's extensions in migration actions ----------------------------------------


def write_project(folder: Path, sqlx_entry: str) -> Path:
    """sqlx.toml naming `sqlx_entry` (a TOML value), migrations/ and a database app.db."""
    (folder / "sqlx.toml").write_text(
        f"[drivers.sqlite]\nunsafe-load-extensions = [{sqlx_entry}]\n", encoding="utf-8"
    )
    (folder / "migrations").mkdir()
    for name, sql in VEC_MIGRATIONS.items():
        (folder / "migrations" / name).write_text(sql, encoding="utf-8")
    conn = driver.connect(folder / "app.db")  # the migrations make every other table
    try:
        conn.execute("CREATE TABLE marker (x)")
    finally:
        conn.close()
    return folder / "app.db"


@needs_loading
@pytest.mark.parametrize("form", ["path", "table"])
async def test_migration_confirmation_lists_sqlx_extensions(
    project: Path, open_session: OpenSession, vec: str, form: str
) -> None:
    if form == "path":
        entry, shown = json.dumps(vec), vec
    else:
        entry = f"{{ path = {json.dumps(vec)}, entrypoint = {json.dumps(VEC_ENTRYPOINT)} }}"
        shown = f"{vec}:{VEC_ENTRYPOINT}"
    db = write_project(project, entry)

    async with open_session(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Inspection never loads sqlx.toml's extensions.
        assert connection_row(app, "Extensions") == "none"
        await pilot.press("5")
        await settle(pilot)
        for version in (1, 2):
            await pilot.press("a")
            await settle(pilot)
            _, body = dialog_text(app)
            assert "It loads these SQLite extensions first:" in body
            assert shown in [line.strip() for line in body.splitlines()]
            assert f"{version} up:" in body
            await pilot.press("y")
            await settle(pilot)
            assert not isinstance(app.screen, ReportScreen)
        assert applied_versions(db) == [1, 2]
        assert connection_row(app, "Extensions") == "none"

    conn = driver.connect(db)
    try:
        assert conn.execute("SELECT id, dims FROM embedding_sizes").fetchall() == [(1, 3)]
    finally:
        conn.close()


@pytest.mark.skipif(driver.can_load_extensions(), reason="about a SQLite that cannot load")
async def test_fallback_app_reports_that_it_cannot_load_sqlx_extensions(
    project: Path, open_session: OpenSession
) -> None:
    db = write_project(project, json.dumps(str(project / "ext")))
    async with open_session(db) as app, app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # Inspection works: it never loads sqlx.toml's extensions.
        assert connection_row(app, "Extensions") == "none"
        await pilot.press("5")
        await settle(pilot)
        # Reading the status loads no extension either, so the pane lists the file...
        shown = plain(main_screen(app).query_one("#migrations-sql-text"), width=400)
        assert "up: 0001_items.sql" in shown
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot)
        # ...and running it, which must load them first, stops with the reason.
        assert isinstance(app.screen, ReportScreen)
        report = " ".join(plain(w, width=400) for w in app.screen.query("Static"))
        assert "built without extension loading" in report
    conn = driver.connect(db)
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
    finally:
        conn.close()
    assert names == {"marker"}  # nothing ran, not even the tracking table's creation
