"""`QueryPane`: write SQL, run it, browse its rows in the Data pane's grid.

The console has its own connection (`dbinspect.query.console`), opened on the first run:
read-only, unless write mode is on. Each statement's rows page through the same bounded
grid as the Data pane, so a result of any size opens at once and scrolls to its end.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import ContentSwitcher, Label, OptionList, Static, Tree
from textual.widgets.text_area import Selection
from textual.widgets.tree import TreeNode

from dbinspect.errors import DbInspectError
from dbinspect.models import Schema
from dbinspect.query.buffers import Buffers
from dbinspect.query.completion import Candidate, SchemaNames
from dbinspect.query.console import (
    ConsoleSession,
    KeptRows,
    Outcome,
    PlanNode,
    StatementError,
    open_console,
)
from dbinspect.query.history import History, history_key
from dbinspect.query.pager import ResultPager
from dbinspect.query.statements import BufferStatement, Dialect, statement_at, statements_in
from dbinspect.tui.query.dialogs import CommitScreen, HistoryScreen
from dbinspect.tui.query.editor import CompletionList, SqlEditor, completion_options
from dbinspect.tui.query.results import ResultPane
from dbinspect.tui.sanitize import safe_text
from dbinspect.tui.screens.dialogs import ConfirmScreen
from dbinspect.tui.session import Session

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
RUN_KEY = "ctrl+j"
RUN_ALL_KEY = "f5"
EXPLAIN_KEY = "f8"
WRITE_KEY = "ctrl+t"
HISTORY_KEY = "ctrl+r"
NEW_BUFFER_KEY = "ctrl+n"
NEXT_BUFFER_KEY = "f2"
NEXT_RESULT_KEY = "f3"
PREVIOUS_RESULT_KEY = "shift+f3"
RESULT_IDLE_S = 30.0
"""A result not read for this long lets go of its read transaction: on PostgreSQL a
cursor's transaction holds its tables' locks, which another session's ALTER or DROP (or a
migration of the app's own) would wait for."""
EARLIER_ROWS_KEPT = 1_000
"""Rows kept of each result of a run but its last: the console's cursor moves on to the
next statement, so an earlier result is held, bounded, to be shown again (`f3`)."""


class QueryPane(Vertical):
    """The SQL editor above, the result (rows, messages or a plan) below."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(f"{RUN_KEY},ctrl+enter", "run_statement", "Run", priority=True),
        Binding(RUN_ALL_KEY, "run_all", "Run all"),
        Binding(EXPLAIN_KEY, "explain", "Plan"),
        Binding(WRITE_KEY, "toggle_write", "Write mode"),
        Binding(HISTORY_KEY, "search_history", "History"),
        Binding(NEW_BUFFER_KEY, "new_buffer", "New buffer", show=False),
        Binding(NEXT_BUFFER_KEY, "next_buffer", "Next buffer", show=False),
        Binding(NEXT_RESULT_KEY, "next_result", "Next result", show=False),
        # xterm and tmux send shift+f3 as CSI 1;2 R, which Textual reads as f15.
        Binding(f"{PREVIOUS_RESULT_KEY},f15", "previous_result", "Previous result", show=False),
        Binding("escape", "escape", "Cancel", show=False),
    ]
    DEFAULT_CSS = """
    QueryPane {
        height: 1fr;
        #query-bar { height: 1; background: $panel; padding: 0 1; }
        #query-mode { width: auto; text-style: bold; }
        #query-mode.-write { color: $warning; }
        #query-buffer { width: auto; margin-left: 2; color: $text-muted; }
        #query-status { width: 1fr; margin-left: 2; }
        #query-editor { height: 12; }
        #query-completions { display: none; height: auto; max-height: 8; }
        #query-completions.-open { display: block; }
        #query-output { height: 1fr; }
        #query-message { padding: 0 1; height: auto; }
        #query-plan { height: 1fr; }
    }
    """

    def __init__(self, session: Session, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.dialect: Dialect = "postgres" if session.url.backend == "postgres" else "sqlite"
        self.write_mode = False
        self.console: ConsoleSession | None = None
        key = history_key(session.url)
        self.history = History.load(key)
        self.buffers = Buffers.load(key)
        self._candidates: list[Candidate] = []
        self._started = 0.0
        self._ticker: Timer | None = None
        self._running_label = ""
        self._history_error_shown = False
        self._results: list[tuple[Text, ResultPager]] = []
        """The last run's results, each with its statement's line; the one shown last."""
        self._result_shown = 0
        self._error_selection: Selection | None = None
        """The selection `_point_at` made to show an error's token."""
        self._editor = SqlEditor(self.dialect, id="query-editor")
        """Held here: the pane's unmount, which saves the buffer, comes after the editor's."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="query-bar"):
            yield Label("", id="query-mode")
            yield Label("", id="query-buffer")
            yield Label("", id="query-status")
        yield self._editor
        yield CompletionList(id="query-completions")
        with ContentSwitcher(initial="query-results", id="query-output"):
            yield ResultPane(id="query-results")
            yield Static("", id="query-message")
            yield Tree("plan", id="query-plan")

    @property
    def editor(self) -> SqlEditor:
        return self._editor

    @property
    def results(self) -> ResultPane:
        return self.query_one(ResultPane)

    def on_mount(self) -> None:
        self._load_buffer()
        self._show_mode()
        self.set_interval(RESULT_IDLE_S / 6, self._release_idle_result)
        if self.buffers.problem:
            self.notify(self.buffers.problem, severity="warning")

    async def on_unmount(self) -> None:
        self._save_buffer()
        console, self.console = self.console, None
        if console is not None:
            await console.aclose()

    async def _release_idle_result(self) -> None:
        if self.console is not None and not self.running:
            with contextlib.suppress(DbInspectError):
                why = f"after {RESULT_IDLE_S:.0f} s without reading"
                await self.console.release(why, idle_for=RESULT_IDLE_S)

    async def close_console(self, why: str) -> None:
        """Close the console's connection, for an operation of the app's own that needs
        the database to itself (a restore renames it, a migration alters its tables);
        the next run opens a new one. A write awaiting its commit is not closed."""
        console = self.console
        if console is None or console.in_transaction:
            return
        self.console = None
        with contextlib.suppress(DbInspectError):
            await console.release(why)
        await console.aclose()

    def show_schema(self, schema: Schema) -> None:
        """Names for completion, from the schema the app has loaded."""
        self.editor.names = SchemaNames.from_schema(schema)

    @property
    def running(self) -> bool:
        return any(w.group == "query-run" and not w.is_finished for w in self.workers)

    # Bar ----------------------------------------------------------------------------------

    def _show_mode(self) -> None:
        mode = self.query_one("#query-mode", Label)
        if self.write_mode:
            mode.update(Text("WRITE MODE"))
            mode.add_class("-write")
        else:
            mode.update(Text("read-only"))
            mode.remove_class("-write")
        names = self.buffers.names
        label = safe_text(f"{self.buffers.active.name}")
        label.append(f" ({self.buffers.active_index + 1}/{len(names)})", style="dim")
        self.query_one("#query-buffer", Label).update(label)

    def _status(self, text: Text | str) -> None:
        self.query_one("#query-status", Label).update(text)

    def _tick(self) -> None:
        elapsed = time.monotonic() - self._started
        frame = SPINNER[int(elapsed * 10) % len(SPINNER)]
        self._status(safe_text(f"{frame} {self._running_label} {elapsed:.1f} s  (esc cancels)"))

    def _start_ticker(self, label: str) -> None:
        self._started = time.monotonic()
        self._running_label = label
        self._tick()
        self._ticker = self.set_interval(0.1, self._tick)

    def _stop_ticker(self) -> float:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        return time.monotonic() - self._started

    # Buffers ------------------------------------------------------------------------------

    def _load_buffer(self) -> None:
        buffer = self.buffers.active
        editor = self.editor
        editor.load_text(buffer.text)
        row, column = buffer.cursor
        editor.move_cursor((min(row, editor.document.line_count - 1), column))
        editor.history_cursor = self.history.cursor(buffer.text)

    def _save_buffer(self) -> None:
        editor = self.editor
        buffer = self.buffers.active
        buffer.text = editor.text
        buffer.cursor = editor.cursor_location
        self._save_buffer_list()

    def action_new_buffer(self) -> None:
        """Open an empty buffer beside the others."""
        self._save_buffer()
        try:
            self.buffers.add()
        except ValueError as error:
            self.notify(str(error), severity="warning")
            return
        self._load_buffer()
        self._show_mode()
        self.editor.focus()

    def action_close_buffer(self) -> None:
        """Close the buffer shown (its text is dropped); the next one shows."""
        self.buffers.remove(self.buffers.active_index)
        self._save_buffer_list()
        self._load_buffer()
        self._show_mode()
        self.editor.focus()

    def _save_buffer_list(self) -> None:
        report = self.buffers.save()
        if report.error is not None:
            self.notify(report.error.one_line(), severity="warning")

    def action_next_buffer(self) -> None:
        """Show the next buffer."""
        self._save_buffer()
        self.buffers.select((self.buffers.active_index + 1) % len(self.buffers.buffers))
        self._load_buffer()
        self._show_mode()
        self.editor.focus()

    # Keys ---------------------------------------------------------------------------------

    def action_toggle_write(self) -> None:
        """Switch write mode on or off (each write then asks to commit or roll back)."""
        if not self.write_mode and self.session.read_only:
            self.notify("Write mode is off: the database was opened read-only", severity="warning")
            return
        self.write_mode = not self.write_mode
        self._show_mode()

    def action_escape(self) -> None:
        """Cancel the running statement; else close completions; else leave the editor."""
        if self.running:
            self.cancel()
        elif self.query_one(CompletionList).is_open:
            self._close_completions()
        elif self.editor.has_focus:
            self.results.grid.focus()
        else:
            self.results.action_stop()

    def cancel(self) -> None:
        """Stop the statement running on the database, then the run."""
        self.run_cancel()

    @work(group="query-cancel")
    async def run_cancel(self) -> None:
        console = self.console
        if console is not None:
            await console.interrupt()

    def action_search_history(self) -> None:
        """Search the history; the chosen statement replaces the buffer's text."""

        def chosen(sql: str | None) -> None:
            if sql is not None:
                self.editor.load_text(sql)
                self.editor.focus()

        self.app.push_screen(HistoryScreen(self.history), chosen)

    # Completion ---------------------------------------------------------------------------

    @on(SqlEditor.CompletionsFound)
    def _offer(self, event: SqlEditor.CompletionsFound) -> None:
        self._candidates = event.candidates
        found = self.query_one(CompletionList)
        found.clear_options()
        found.add_options(completion_options(event.candidates))
        found.highlighted = 0
        found.add_class("-open")
        self.editor.completing = True

    @on(SqlEditor.CompletionKey)
    def _completion_key(self, event: SqlEditor.CompletionKey) -> None:
        found = self.query_one(CompletionList)
        if event.key == "up":
            found.action_cursor_up()
        elif event.key == "down":
            found.action_cursor_down()
        elif event.key == "take" and found.highlighted is not None:
            candidate = self._candidates[found.highlighted]
            self._close_completions()
            self.editor.take(candidate)
        else:
            self._close_completions()

    @on(OptionList.OptionSelected, "#query-completions")
    def _completion_clicked(self, event: OptionList.OptionSelected) -> None:
        candidate = self._candidates[int(event.option.id or 0)]
        self._close_completions()
        self.editor.take(candidate)
        self.editor.focus()

    def _close_completions(self) -> None:
        self.query_one(CompletionList).remove_class("-open")
        self.editor.completing = False

    # Running ------------------------------------------------------------------------------

    def action_run_statement(self) -> None:
        """Run the selection, or the statement under the cursor, once the editor has
        taken every key typed before this one.

        The run key is a priority binding, handled as it arrives, while keys typed (or
        pasted) just before it may still wait in the editor's queue: the run waits behind
        them there, so that what runs is the text on screen.
        """
        self.editor.call_later(self._run_statement_now)

    def _run_statement_now(self) -> None:
        editor = self.editor
        if self.running:
            return
        selected = editor.selected_text
        if editor.selection == self._error_selection:
            selected = ""  # the error's token, selected to show it: not a choice of the user's
        if selected.strip():
            start = editor.index_of(min(editor.selection))
            statements = [
                BufferStatement(s.number, s.start + start, s.end + start, s.sql)
                for s in statements_in(selected, self.dialect)
            ]
        else:
            found = statement_at(editor.text, editor.cursor_offset(), self.dialect)
            statements = [] if found is None else [found]
        self._run(statements)

    def action_run_all(self) -> None:
        """Run every statement of the buffer in turn; stop at the first failure."""
        if not self.running:
            self._run(statements_in(self.editor.text, self.dialect))

    def _run(self, statements: Sequence[BufferStatement]) -> None:
        if not statements:
            self.notify("Nothing to run: write a statement first", timeout=3)
            return
        self._save_buffer()
        self.run_statements(list(statements))

    async def _open_console(self) -> ConsoleSession:
        if self.console is not None and self.console.lost:
            # The server restarted or ended the session: the next statement reconnects.
            lost, self.console = self.console, None
            with contextlib.suppress(DbInspectError, OSError):
                await lost.aclose()
        if self.console is None:
            self.console = await open_console(
                self.session.url,
                read_only=self.session.read_only,
                extensions=self.session.extensions,
            )
        return self.console

    @work(exclusive=True, group="query-run")
    async def run_statements(self, statements: list[BufferStatement]) -> None:
        """Run `statements` in order, with a line each; the last rows go to the grid."""
        lines: list[Text] = []
        results: list[tuple[Text, ResultPager]] = []
        self._results, self._result_shown = [], 0
        many = len(statements) > 1
        noted = False
        """A statement's outcome has notes (committed, rolled back) the grid does not show."""
        for number, statement in enumerate(statements, 1):
            label = statement.label() if many else "running"
            try:
                outcome = await self._run_one(statement, label)
            except StatementError as error:
                self._keep_results(results, lines)
                self._show_failure(statement, error, lines, many)
                return
            except DbInspectError as error:
                lines.append(safe_text(f"{statement.label()}: {error.one_line()}", style="red"))
                self._keep_results(results, lines)
                self._show_lines(lines)
                return
            if outcome is None:  # not confirmed
                lines.append(safe_text(f"{statement.label()}: not run", style="yellow"))
                self._keep_results(results, lines)
                self._show_lines(lines)
                return
            if outcome.cursor is not None and number < len(statements):
                await self._keep_earlier(outcome)
            line, pager = await self._describe(statement, outcome)
            lines.append(line)
            noted = noted or bool(outcome.notes)
            if pager is not None:
                results.append((line, pager))
        if results:
            self._results, self._result_shown = results, len(results) - 1
            if many or noted:
                self.notify("\n".join(line.plain for line in lines), timeout=6)
            self._show_rows(results[-1][1])
            if len(results) > 1:
                self._status_result()
        else:
            self._show_lines(lines)

    def _keep_results(self, results: list[tuple[Text, ResultPager]], lines: list[Text]) -> None:
        """After a run stopped part way, the rows of the statements before stay at hand."""
        self._results, self._result_shown = results, len(results) - 1
        if results:
            lines.append(Text("f3 and shift+f3 show the rows of the statements that ran", "dim"))

    async def _keep_earlier(self, outcome: Outcome) -> None:
        """Hold the first rows of a result that the next statement's run would close."""
        cursor = outcome.cursor
        assert cursor is not None
        rows = await cursor.rows(0, EARLIER_ROWS_KEPT + 1)
        await cursor.close()
        if len(rows) > EARLIER_ROWS_KEPT:
            outcome.notes.append(
                f"the first {EARLIER_ROWS_KEPT:,} rows kept (run it alone for all)"
            )
        outcome.cursor = KeptRows(cursor.columns, rows[:EARLIER_ROWS_KEPT])

    def action_next_result(self) -> None:
        """Show the next result of the last run (of several statements)."""
        self._step_result(1)

    def action_previous_result(self) -> None:
        """Show the previous result of the last run."""
        self._step_result(-1)

    def _step_result(self, step: int) -> None:
        showing = self.query_one(ContentSwitcher).current == "query-results"
        if self.running or not self._results or (len(self._results) < 2 and showing):
            self.notify("Only one result: run several statements (f5) to step through", timeout=3)
            return
        if showing:  # else the messages are shown: back to the result last shown
            self._result_shown = (self._result_shown + step) % len(self._results)
        self._show_rows(self._results[self._result_shown][1])
        self._status_result()

    def _status_result(self) -> None:
        line, _ = self._results[self._result_shown]
        where = f"result {self._result_shown + 1} of {len(self._results)} (f3, shift+f3): "
        self._status(Text(where, style="dim") + line)

    async def _run_one(self, statement: BufferStatement, label: str) -> Outcome | None:
        if statement.controls_transaction:
            raise StatementError(
                "the console runs each statement in its own transaction: "
                "leave out BEGIN, COMMIT and ROLLBACK (write mode asks to commit)",
                statement.sql,
            )
        if self.write_mode and statement.asks_first:
            body = safe_text(statement.sql)
            title = f"Run {statement.keyword}? It cannot be undone once committed"
            if not await self.app.push_screen_wait(ConfirmScreen(title, body)):
                return None
        error = self.history.add(statement.sql)
        if error is not None and not self._history_error_shown:
            self._history_error_shown = True
            self.notify(error.one_line(), severity="warning")
        self.editor.history_cursor = self.history.cursor(self.editor.text)
        self._start_ticker(label)
        try:
            console = await self._open_console()
            outcome = await console.run(statement.sql, write=self.write_mode)
        finally:
            # Failed or cancelled too: the spinner's last frame must not stay behind.
            elapsed = self._stop_ticker()
            self._status(safe_text(f"{statement.label()}: {elapsed:.2f} s", style="dim"))
        if outcome.pending:
            await self._commit_or_roll_back(statement, outcome, console)
        return outcome

    async def _commit_or_roll_back(
        self, statement: BufferStatement, outcome: Outcome, console: ConsoleSession
    ) -> None:
        if outcome.changed is None:  # DDL, or a statement that counts no rows
            summary = f"{statement.label()} ran; nothing is kept until you commit."
        else:
            summary = f"{statement.label()} changed {_rows(outcome.changed)}."
        question = CommitScreen(summary)
        answer = await self.app.push_screen_wait(question)
        if answer == "commit":
            await console.commit()
            outcome.notes.append("committed")
        else:
            await console.rollback()
            outcome.notes.append(
                f"rolled back after {question.timeout:g} s without an answer"
                if answer == "timeout"
                else "rolled back"
            )
        if answer != "commit" and outcome.cursor is not None:
            outcome.notes.append("the rows shown were returned before the rollback")

    async def _describe(
        self, statement: BufferStatement, outcome: Outcome
    ) -> tuple[Text, ResultPager | None]:
        parts = []
        pager = None
        if outcome.cursor is not None:
            pager = ResultPager(self.console_or_fail(), outcome.cursor)
            parts.append("rows below")
            if not statement.ordered and outcome.cursor.rewinds == "rerun":
                parts.append("no ORDER BY: the order may differ when scrolling back")
        if outcome.changed is not None and (outcome.cursor is None or outcome.pending):
            parts.append(f"{_rows(outcome.changed)} changed")
        parts.extend(outcome.notes)
        if not parts:
            parts.append("done")
        return safe_text(f"{statement.label()}: {'; '.join(parts)}"), pager

    def console_or_fail(self) -> ConsoleSession:
        if self.console is None:
            raise DbInspectError("the console is not connected")
        return self.console

    def _show_rows(self, pager: ResultPager) -> None:
        self.query_one(ContentSwitcher).current = "query-results"
        self.results.show_result(self.session.url, pager)

    def _show_lines(self, lines: list[Text]) -> None:
        message = Text("\n").join(lines) if lines else Text("")
        self.query_one("#query-message", Static).update(message)
        self.query_one(ContentSwitcher).current = "query-message"

    def _show_failure(
        self, statement: BufferStatement, error: StatementError, lines: list[Text], many: bool
    ) -> None:
        failed = safe_text(f"{statement.label()} failed: {error.message}", style="bold red")
        lines.append(failed)
        if many:
            ran = statement.number - 1
            lines.append(
                Text(
                    f"{ran} statement{'' if ran == 1 else 's'} before it ran; the rest did not"
                    if ran
                    else "no statement ran",
                    style="dim",
                )
            )
        self._show_lines(lines)
        if error.position is not None:
            self._point_at(statement.start + error.position)

    def _point_at(self, offset: int) -> None:
        """Select the token at `offset` in the buffer, where the database saw the error."""
        editor = self.editor
        text = editor.text
        end = offset
        while end < len(text) and (text[end].isalnum() or text[end] in "_$\"'"):
            end += 1
        end = max(end, offset + 1)
        editor.selection = Selection(editor.location_of(offset), editor.location_of(end))
        self._error_selection = editor.selection
        editor.scroll_cursor_visible()

    # Plans --------------------------------------------------------------------------------

    def action_explain(self) -> None:
        """Show the plan of the statement under the cursor as a tree."""
        found = statement_at(self.editor.text, self.editor.cursor_offset(), self.dialect)
        if found is None:
            self.notify("Nothing to explain: write a statement first", timeout=3)
            return
        self.explain(found)

    @work(exclusive=True, group="query-run")
    async def explain(self, statement: BufferStatement) -> None:
        self._start_ticker("planning")
        try:
            console = await self._open_console()
            plan = await console.explain(statement.sql)
        except StatementError as error:
            self._stop_ticker()
            self._show_failure(statement, error, [], False)
            return
        except DbInspectError as error:
            self._stop_ticker()
            self._show_lines([safe_text(error.one_line(), style="red")])
            return
        self._stop_ticker()
        self._status(safe_text(f"plan of {statement.label()}", style="dim"))
        tree: Tree[None] = self.query_one("#query-plan", Tree)
        tree.clear()
        tree.root.set_label(safe_text(plan.label))

        def add(node: TreeNode[None], children: tuple[PlanNode, ...]) -> None:
            for child in children:
                branch = node.add(safe_text(child.label), expand=True)
                add(branch, child.children)
                if not child.children:
                    branch.allow_expand = False

        add(tree.root, plan.children)
        tree.root.expand()
        self.query_one(ContentSwitcher).current = "query-plan"


def _rows(count: int) -> str:
    return f"{count:,} row{'' if count == 1 else 's'}"


async def close_consoles(app: App[object], why: str) -> None:
    """Close every Query pane's console (see `QueryPane.close_console`)."""
    for pane in app.query(QueryPane):
        await pane.close_console(why)
