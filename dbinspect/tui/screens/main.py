"""Provides `MainScreen`: the seven panes and the workers that fill them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static, TabbedContent, TabPane, Tabs

from dbinspect import migrate  # the engine loads on first use, after the first frame
from dbinspect.backends import Backend
from dbinspect.browse.protocol import Relation
from dbinspect.errors import DbInspectError
from dbinspect.extensions import allow_config_extensions
from dbinspect.migrate import MigrationStatus
from dbinspect.models import DatabaseFacts, Schema
from dbinspect.tui.key_bar import KeyBar
from dbinspect.tui.messages import (
    DatabaseChanged,
    FactsLoaded,
    LoadFailed,
    MigrationsCancelled,
    MigrationsFailed,
    MigrationsFinished,
    MigrationsLoaded,
    SchemaLoaded,
    SizesLoaded,
)
from dbinspect.tui.panes.schema import SchemaPane
from dbinspect.tui.sanitize import safe_text
from dbinspect.tui.screens.dialogs import ConfirmScreen
from dbinspect.tui.screens.pane_builders import PANE_WIDGET_IDS, build_pane
from dbinspect.tui.session import Session

if TYPE_CHECKING:
    from textual.widget import Widget

    from dbinspect.tui.data.pane import DataPane
    from dbinspect.tui.panes.migrations import MigrationsPane
    from dbinspect.tui.query import QueryPane

    PaneT = TypeVar("PaneT", bound=Widget)

PANES = (
    ("connection", "Connection"),
    ("metadata", "Metadata"),
    ("schema", "Schema"),
    ("data", "Data"),
    ("migrations", "Migrations"),
    ("help", "Help"),
    ("query", "Query"),
)
BUILT_AFTER_FIRST_FRAME = ("connection", "metadata", "data", "migrations", "help")
"""The panes built once the first frame is on screen (unless a key wants one sooner);
the Query pane is built when it is first shown."""
SIZE_TABLES_LIMIT = 1000
"""Row estimates cost a query per table; beyond this many tables the chart samples."""
CHART_BARS = 12


class MainScreen(Screen[None]):
    """The panes on one database; the workers here do every bit of database work."""

    AUTO_FOCUS = ""
    """Off: `on_mount` focuses the shown pane's widget. Textual's default would focus the
    tabs first, and restyle them twice (focus, then blur) before the first frame."""
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: acted on as the app reads the key, so the keys typed after it go to
        # the new pane. (A focused text box still takes digits: it consumes them first.)
        *(
            Binding(str(n), f"show_pane('{pane_id}')", title, show=False, priority=True)
            for n, (pane_id, title) in enumerate(PANES, 1)
        ),
        Binding("R", "refresh", "Refresh"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.facts: DatabaseFacts | None = None
        self.schema_: Schema | None = None
        self.statuses: list[MigrationStatus] | None = None
        self.statuses_error: str | None = None
        self._sizes_wanted = False
        self._data_table: Relation | None = None
        self._first_frame = asyncio.Event()
        self._built: dict[str, asyncio.Event] = {}
        """Each pane built so far, by tab id: its event is set once it is mounted and
        filled with what the screen knows."""
        self._sizes: SizesLoaded | None = None
        self._statuses_known = False
        self._selection: MigrationsPane.SelectionChanged | None = None
        self._showing: str | None = None
        """The pane a key asked for while it is being built (see `action_show_pane`)."""
        self._typed_ahead: list[Callable[[], None]] | None = []
        """Keys acted on before the panes exist (typed while the app starts), run at the
        end of `on_mount`; None from then on."""

    def compose(self) -> ComposeResult:
        mode = "read-only" if self.session.read_only else "read-write"
        status = Text("dbinspect ", style="bold") + safe_text(self.session.url.masked)
        status.append(f"  [{mode}]", style="yellow" if self.session.read_only else "dim")
        yield Static(status, id="status-line")
        initial = "schema"
        outcome = self.session.outcome
        if outcome is not None and (outcome.applied or outcome.error):
            initial = "migrations"
        # The first frame builds the pane it shows (and the Schema pane, whose tree the
        # outline fills); every other tab is empty until `_build_hidden_panes`.
        with TabbedContent(initial=initial, id="panes"):
            for pane_id, title in PANES:
                if pane_id in (initial, "schema"):
                    with TabPane(title, id=pane_id):
                        yield build_pane(pane_id, self.session)
                    self._built[pane_id] = asyncio.Event()
                else:
                    yield TabPane(title, id=pane_id)
        yield KeyBar()

    def on_mount(self) -> None:
        session = self.session
        for pane_id, built in self._built.items():
            built.set()
            self._fill_pane(pane_id)
        early = session.outline
        if early is not None and early.done() and early.exception() is None:
            # Read while the app was importing: the tree is filled in the very first frame.
            session.outline = None
            self._show_schema(early.result())
        self.load_all(reopen=False)
        if session.url.path is not None or session.url.backend == "postgres":
            self.watch_changes()  # (an in-memory database has no other writer)
        if session.settings.extensions.awaiting_consent:
            self._ask_extension_consent()
        self._build_hidden_panes()
        typed, self._typed_ahead = self._typed_ahead or [], None
        for action in typed:
            action()
        # Last, on the pane the keys typed ahead chose: a focus shows the focused pane.
        self._focus_pane(self.query_one(TabbedContent).active)

    def _until_mounted(self, action: Callable[[], None]) -> bool:
        """Keep `action` for the end of `on_mount` if the screen is not mounted yet (a key
        typed while the app starts): True when kept."""
        if self._typed_ahead is None:
            return False
        self._typed_ahead.append(action)
        return True

    # Building the panes

    @work(group="panes")
    async def _build_hidden_panes(self) -> None:
        """Build the panes the first frame left out, once it is on screen."""
        await self._first_frame.wait()
        for pane_id in BUILT_AFTER_FIRST_FRAME:
            self._build_pane(pane_id)

    def _build_pane(self, pane_id: str) -> asyncio.Event:
        """Mount the pane of tab `pane_id` unless it is already there; the event is set
        once it is mounted, just before it is filled with what the screen knows."""
        built = self._built.get(pane_id)
        if built is not None:
            return built
        built = self._built[pane_id] = asyncio.Event()
        mounting = self.query_one(f"#{pane_id}", TabPane).mount(build_pane(pane_id, self.session))

        async def fill() -> None:
            await mounting
            built.set()
            self._fill_pane(pane_id)
            tabs = self.query_one(TabbedContent)
            if isinstance(self.focused, Tabs):  # the user went on with the tab bar
                self._showing = None
            if self._showing == pane_id:
                # Shown again: a focus given before the key moved the tabs back meanwhile.
                self._showing = None
                tabs.active = pane_id
            if tabs.active == pane_id:
                self._focus_pane(pane_id)

        self.run_worker(fill(), group="panes")
        return built

    def _fill_pane(self, pane_id: str) -> None:
        """Show in a newly built pane what the screen has read so far."""
        if pane_id == "help":
            self._fill_help()
        elif pane_id == "migrations" and self._statuses_known:
            migrations = self.pane("migrations", _migrations_pane_class())
            if migrations is not None:
                migrations.show(self.statuses, self.statuses_error)
        elif pane_id in ("connection", "metadata"):
            self._show_facts()
            if pane_id == "metadata" and self._sizes is not None:
                self._sizes_loaded(self._sizes)
        elif pane_id == "query" and self.schema_ is not None:
            query_pane = self.query_pane()
            if query_pane is not None:
                query_pane.show_schema(self.schema_)

    def _fill_help(self) -> None:
        from dbinspect.tui.panes.help import HelpPane, shell_url

        help_pane = self.pane("help", HelpPane)
        if help_pane is None:
            return
        session = self.session
        help_pane.show(
            shell_url(session.url),
            session.folder_label,
            session.path_label or (str(session.url.path) if session.url.path else None),
            explicit=session.settings.migrations.explicit,
        )
        if self._selection is not None:
            help_pane.show_selection(self._selection.statuses, self._selection.selected)

    def pane(self, pane_id: str, kind: type[PaneT]) -> PaneT | None:
        """The pane of tab `pane_id` once it is built and filled; None until then (what
        it would show is kept, and shown when it is built)."""
        built = self._built.get(pane_id)
        if built is None or not built.is_set():
            return None
        return self.query_one(f"#{PANE_WIDGET_IDS[pane_id]}", kind)

    async def built_pane(self, pane_id: str, kind: type[PaneT]) -> PaneT:
        """The pane of tab `pane_id`, built now if it is not yet."""
        await self._build_pane(pane_id).wait()
        return self.query_one(f"#{PANE_WIDGET_IDS[pane_id]}", kind)

    def _ask_extension_consent(self) -> None:
        """The config file names extensions: load them only when the user says so."""
        waiting = self.session.settings.extensions.awaiting_consent
        origin = self.session.settings.file_config.origin
        body = Group(
            safe_text(str(origin)) + Text(" asks to load these SQLite extensions (native code):"),
            *(Text("  ") + safe_text(str(extension)) for extension in waiting),
            Text("Load them only if you trust this project."),
        )

        def answered(load: bool | None) -> None:
            if load:
                self.session.settings = allow_config_extensions(self.session.settings)
                self.session.connections.extensions = self.session.extensions
                self.load_all(reopen=True)

        self.app.push_screen(ConfirmScreen("Load extensions from the config file?", body), answered)

    # Panes and keys

    def action_show_pane(self, pane_id: str) -> None:
        """Switch to a pane (built now if it is not yet) and focus its main widget."""
        if self._until_mounted(partial(self.action_show_pane, pane_id)):
            return
        built = self._build_pane(pane_id)
        # Textual shows the tab of a focused widget, on a later message: the focus given
        # to the pane left behind would show it again before this one can take focus.
        self._showing = None if built.is_set() else pane_id
        self.query_one(TabbedContent).active = pane_id
        if not built.is_set():
            # Keys typed meanwhile must not reach the pane left behind (`3/cust` would
            # filter the hidden tree): nothing has focus until this pane takes it.
            self.set_focus(None)
        self._focus_pane(pane_id)

    def query_pane(self) -> QueryPane | None:
        """The Query pane, once it has been shown."""
        if "query" not in self._built:
            # Never shown: its module (the editor, pglast's keywords) is not imported
            # yet, and the first frame must not wait for it.
            return None
        from dbinspect.tui.query import QueryPane

        return self.pane("query", QueryPane)

    def _focus_pane(self, pane_id: str) -> None:
        """Focus the pane's main widget now, before the next key is read.

        `Widget.focus` waits in the message queue, behind keys already typed: a fast `3/cust`
        would send `/` and `cust` to the pane left behind (whose own keys they may be).
        """
        targets = {
            "schema": "#schema-tree",
            "migrations": "#migrations-table",
            "data": "#data-pane",
            "connection": "#connection-pane",
            "metadata": "#metadata-pane",
            "help": "#help-pane",
            "query": "#query-editor",
        }
        built = self._built.get(pane_id)
        if built is None or not built.is_set():
            return  # being built: `_build_pane` focuses it once it is, if still shown
        widget = self.query_one(targets[pane_id])
        focusable = (
            widget
            if widget.focusable
            else next((w for w in widget.query("*") if w.focusable), None)
        )
        if focusable is not None:
            self.set_focus(focusable)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id is not None:  # a click on a tab not built yet builds it
            self._build_pane(event.pane.id)
        if event.pane.id == "metadata" and not self._sizes_wanted:
            self._sizes_wanted = True
            self.load_sizes()

    def action_filter_schema(self) -> None:
        """Show the Schema pane with the filter focused."""
        if self._until_mounted(self.action_filter_schema):
            return
        self.action_show_pane("schema")
        self.query_one(SchemaPane).action_filter()

    def action_refresh(self) -> None:
        """Reopen the database and reread everything, the Data pane's table included."""
        if self._until_mounted(self.action_refresh):
            return
        self.load_all(reopen=True, reopen_data=True)

    def reload(self) -> None:
        """Reopen the database and reread every pane."""
        self.load_all(reopen=True)

    @on(SchemaPane.DataRequested)
    def _open_data(self, event: SchemaPane.DataRequested) -> None:
        self._data_table = event.relation
        pane = self.pane("data", _data_pane_class())
        if pane is None:  # being built: its tab shows now, its rows once it is built
            self.action_show_pane("data")
            self._open_data_when_built(event.relation)
            return
        pane.show(self.session.url, event.relation)  # first: the rows are asked for sooner
        self.action_show_pane("data")

    @work(exclusive=True, group="open-data")
    async def _open_data_when_built(self, table: Relation) -> None:
        """Show `table` in the Data pane once it is built (a later `d` replaces this one);
        the user may have moved to another pane meanwhile: they stay there."""
        pane = await self.built_pane("data", _data_pane_class())
        if self._data_table == table:  # else a `d` on the built pane came first: it won
            pane.show(self.session.url, table)

    # Loading

    @work(exclusive=True, group="load")
    async def load_all(self, reopen: bool, reopen_data: bool = False) -> None:
        """Read schema, facts and migration status, posting each as soon as it is read.

        `reopen_data`: open the Data pane's table again, once the connections are new
        (on the old ones it would fail again after a lost connection).
        """
        session = self.session
        try:
            if reopen:
                # A size scan still running on the old connection is stopped, not awaited.
                self.workers.cancel_group(self, "sizes")
                await session.connections.reopen()
                data_pane = self.pane("data", _data_pane_class())
                if reopen_data and self._data_table is not None and data_pane is not None:
                    data_pane.show(session.url, self._data_table)
            else:
                if self.schema_ is None:  # not already shown from the launch outline
                    # Names first: the tree fills long before every column has been read.
                    outline = session.outline or (await session.backend_opened()).outline()
                    session.outline = None
                    self.post_message(SchemaLoaded(await outline))
                await self._first_frame.wait()
            # On PostgreSQL the launch read the first outline without this connection.
            backend = await session.backend_opened()
            self.post_message(SchemaLoaded(await backend.schema()))
            self.post_message(FactsLoaded(await backend.facts()))
        except DbInspectError as error:
            self.post_message(LoadFailed("database", error))
            return
        await self._load_statuses()
        if self._sizes_wanted:
            await self._measure_sizes(backend)

    async def _load_statuses(self) -> None:
        session = self.session
        if not session.folder.is_dir():
            self.post_message(
                MigrationsLoaded(None, f"no migrations folder at {session.folder_label}")
            )
            return
        try:
            statuses = await migrate.migration_status(
                session.url, session.folder, session.settings.sqlx
            )
        except DbInspectError as error:
            self.post_message(MigrationsLoaded(None, error.one_line()))
        else:
            self.post_message(MigrationsLoaded(statuses, None))

    @work(exclusive=True, group="sizes")
    async def load_sizes(self) -> None:
        """Measure the largest tables for the Metadata chart."""
        try:
            backend = await self.session.backend_opened()
        except DbInspectError as error:
            self.post_message(LoadFailed("sizes", error))
            return
        await self._measure_sizes(backend)

    async def _measure_sizes(self, backend: Backend) -> None:
        try:
            # Bytes on disk where the engine can tell (SQLite with `dbstat`); a cancelled
            # worker interrupts the scan, so a reload or quit never waits for it.
            measured = await backend.table_sizes()
            source = "pg_total_relation_size" if backend.url.backend == "postgres" else "dbstat"
            if measured is not None:
                largest = sorted(measured.items(), key=lambda kv: (-kv[1], kv[0]))
                self.post_message(
                    SizesLoaded(largest[:CHART_BARS], "bytes", f"by size on disk ({source})")
                )
                return
            schema = await backend.schema()
            tables = [o.name for o in schema.of_kind("table")][:SIZE_TABLES_LIMIT]
            counts: list[tuple[str, int]] = []
            exact = True
            for name in tables:
                estimate = await backend.row_estimate(Relation(None, name))
                exact = exact and estimate.exact
                counts.append((name, estimate.value))
        except DbInspectError as error:
            self.post_message(LoadFailed("sizes", error))
            return
        counts.sort(key=lambda kv: (-kv[1], kv[0]))
        notes = [] if exact else ["estimated"]
        if len(schema.of_kind("table")) > SIZE_TABLES_LIMIT:
            notes.append(f"first {SIZE_TABLES_LIMIT} tables")
        note = "by row count" + (f" ({', '.join(notes)})" if notes else "")
        self.post_message(SizesLoaded(counts[:CHART_BARS], "rows", note))

    @on(SchemaLoaded)
    def _schema_loaded(self, message: SchemaLoaded) -> None:
        self._show_schema(message.schema)

    def _show_schema(self, schema: Schema) -> None:
        self.schema_ = schema
        self.query_one(SchemaPane).show(schema)
        query_pane = self.query_pane()
        if query_pane is not None:
            query_pane.show_schema(schema)
        # Reading the details competes for the interpreter: let the tree paint first.
        self.call_after_refresh(self._first_frame.set)

    @on(FactsLoaded)
    def _facts_loaded(self, message: FactsLoaded) -> None:
        self.facts = message.facts
        self._show_facts()

    @on(MigrationsLoaded)
    def _migrations_loaded(self, message: MigrationsLoaded) -> None:
        self.statuses, self.statuses_error = message.statuses, message.error
        self._statuses_known = True
        migrations = self.pane("migrations", _migrations_pane_class())
        if migrations is not None:
            migrations.show(message.statuses, message.error)
        self._show_facts()

    def on_migrations_pane_selection_changed(
        self, message: MigrationsPane.SelectionChanged
    ) -> None:
        # Named, not decorated with `@on`: the decorator would import the Migrations
        # pane's module before the first frame.
        from dbinspect.tui.panes.help import HelpPane

        self._selection = message
        help_pane = self.pane("help", HelpPane)
        if help_pane is not None:
            help_pane.show_selection(message.statuses, message.selected)

    @on(SizesLoaded)
    def _sizes_loaded(self, message: SizesLoaded) -> None:
        from dbinspect.tui.panes.metadata import MetadataPane

        self._sizes = message
        metadata = self.pane("metadata", MetadataPane)
        if metadata is not None:
            metadata.show_sizes(message.sizes, message.unit, message.note)

    @on(LoadFailed)
    def _load_failed(self, message: LoadFailed) -> None:
        if message.area == "database":  # no tree is coming: build the other panes now
            self.call_after_refresh(self._first_frame.set)
        self.notify(message.error.one_line(), title=f"Cannot read {message.area}",
                    severity="error", markup=False)  # fmt: skip

    def _show_facts(self) -> None:
        from dbinspect.tui.panes.connection import ConnectionPane
        from dbinspect.tui.panes.metadata import MetadataPane

        if self.facts is None:
            return
        session = self.session
        connection = self.pane("connection", ConnectionPane)
        if connection is not None:
            connection.show(
                url=session.url.masked,
                facts=self.facts,
                path_label=session.path_label,
                statuses=self.statuses,
                read_only=session.read_only,
            )
        metadata = self.pane("metadata", MetadataPane)
        if metadata is not None:
            metadata.show_counts(self.facts, self.statuses)

    # Noticing other writers

    @work(exclusive=True, group="watch")
    async def watch_changes(self) -> None:
        """Reload the panes when another process writes to the database."""

        def changed(catalog: bool) -> None:
            if not self.migrations_running():  # our own migrations reload when they finish
                self.post_message(DatabaseChanged(catalog))

        connections = self.session.connections
        connections.subscribe(changed)
        await connections.watch()

    def migrations_running(self) -> bool:
        """Whether the Migrations pane is running a plan."""
        migrations = self.pane("migrations", _migrations_pane_class())
        return migrations is not None and migrations.running

    @on(DatabaseChanged)
    def _database_changed(self, event: DatabaseChanged) -> None:
        pane = self.pane("data", _data_pane_class())
        if event.catalog:
            self.reload()
            if pane is not None:
                pane.follow_writes()
        elif pane is not None:  # rows, maybe in another database: only rows in view
            pane.check_rows()  # that changed are reread

    @on(MigrationsFinished)
    @on(MigrationsFailed)
    @on(MigrationsCancelled)
    def _migrations_ended(self) -> None:
        """The Migrations pane reported its action's outcome: reread every pane."""
        self.reload()


def _migrations_pane_class() -> type[MigrationsPane]:
    """The Migrations pane's class; its module loads after the first frame."""
    from dbinspect.tui.panes.migrations import MigrationsPane

    return MigrationsPane


def _data_pane_class() -> type[DataPane]:
    """The Data pane's class; its module loads after the first frame."""
    from dbinspect.tui.data.pane import DataPane

    return DataPane
