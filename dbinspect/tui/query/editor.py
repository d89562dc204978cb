"""`SqlEditor`: Textual's TextArea with SQL highlighting, completion and history recall."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option
from textual.widgets.text_area import TextAreaTheme

from dbinspect.query.completion import Candidate, SchemaNames, complete
from dbinspect.query.history import HistoryCursor
from dbinspect.query.statements import Dialect
from dbinspect.tui.query.highlight import Span, lexer_for, line_spans
from dbinspect.tui.sanitize import safe_text

LIGHT_THEME = "github_light"
DARK_THEME = "vscode_dark"


class CompletionList(OptionList):
    """The candidates under the editor. The editor keeps the focus and steers it: Up and
    Down move, Tab or Enter take one, Escape or any other key closes it."""

    can_focus = False

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")


class SqlEditor(TextArea):
    """The buffer being edited. Up on the first line and Down on the last recall history."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=False),
        Binding("ctrl+space", "complete", "Complete", show=False),
    ]

    class CompletionsFound(Message):
        """Candidates to offer (more than one)."""

        def __init__(self, candidates: list[Candidate]) -> None:
            super().__init__()
            self.candidates = candidates

    class CompletionKey(Message):
        """A key for the open completion list: `up`, `down`, `take` or `close`."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, dialect: Dialect, *, id: str | None = None) -> None:
        super().__init__(
            "",
            language=None,  # highlighted by `get_line` (see `highlight`), not tree-sitter
            soft_wrap=False,
            tab_behavior="focus",
            show_line_numbers=True,
            id=id,
        )
        self.dialect: Dialect = dialect
        self.names: SchemaNames | None = None
        """The schema's names for completion (set once the schema is loaded)."""
        self.history_cursor: HistoryCursor | None = None
        """Set by the pane: where Up and Down are in the history."""
        self.completing = False
        """Set by the pane while its completion list is open."""
        self._lexer = lexer_for(dialect)
        self._lexed_text = ""
        self._spans: list[list[Span]] = [[]]
        self._rendering = False
        self._styles = TextAreaTheme.get_builtin_theme(LIGHT_THEME)

    def load_text(self, text: str) -> None:
        """Replace the whole text, and forget the undo history, in the same document.

        `TextArea.load_text` builds a new document, and with it compiles the SQL highlight
        query again: about 13 MB each time (a buffer switched to, a statement recalled).
        """
        self.replace(text, (0, 0), self.document.end, maintain_selection_offset=False)
        self.history.clear()
        self.update_suggestion()

    def on_mount(self) -> None:
        self._follow_theme()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._follow_theme())

    def _follow_theme(self) -> None:
        self.theme = DARK_THEME if self.app.current_theme.dark else LIGHT_THEME
        self._styles = TextAreaTheme.get_builtin_theme(self.theme)

    def render_lines(self, crop: Region) -> list[Strip]:
        # The text is looked at once a frame, not once a line: it is joined from the
        # document's lines each time it is asked for.
        self._lex()
        self._rendering = True
        try:
            return super().render_lines(crop)
        finally:
            self._rendering = False

    def get_line(self, line_index: int) -> Text:
        """The line, its SQL styled by the theme (TextArea's hook for extra styling)."""
        line = super().get_line(line_index)
        if self._styles is None:
            return line
        if not self._rendering:
            self._lex()
        if line_index < len(self._spans):
            styles = self._styles.syntax_styles
            for start, end, name in self._spans[line_index]:
                style = styles.get(name)
                if style is not None:
                    line.stylize(style, start, end)
        return line

    def _lex(self) -> None:
        """The spans of the text as it is now (lexed again only when it changed)."""
        text = self.document.text
        if text != self._lexed_text:
            self._lexed_text, self._spans = text, line_spans(text, self._lexer)

    # Completion ---------------------------------------------------------------------------

    def cursor_offset(self) -> int:
        """The cursor's place as a character offset into the text."""
        return self.index_of(self.cursor_location)

    def index_of(self, location: tuple[int, int]) -> int:
        """A (row, column) as a character offset into the text."""
        row, column = location
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[:row]) + column

    def location_of(self, offset: int) -> tuple[int, int]:
        """The (row, column) of a character offset into the text."""
        before = self.text[:offset]
        row = before.count("\n")
        return row, offset - (before.rfind("\n") + 1)

    def candidates(self) -> list[Candidate]:
        """What completes the word before the cursor."""
        if self.names is None:
            return []
        offset = self.cursor_offset()
        text = self.text
        return complete(text[:offset], self.names, self.dialect, text_after_cursor=text[offset:])

    def action_complete(self) -> None:
        """Complete the word before the cursor: at once when one candidate fits."""
        row, column = self.cursor_location
        line = self.document.get_line(row)
        if column == 0 or line[:column].endswith((" ", "\t")):
            self.insert(" " * self.indent_width)  # nothing to complete: indent, as editors do
            return
        found = self.candidates()
        if len(found) == 1:
            self.take(found[0])
        elif found:
            self.post_message(self.CompletionsFound(found))

    def take(self, candidate: Candidate) -> None:
        """Replace the word being typed with `candidate`."""
        end = self.cursor_offset()
        start = end - candidate.replace_length
        self.replace(candidate.text, self.location_of(start), self.location_of(end))

    # History ------------------------------------------------------------------------------

    def _recall(self, sql: str | None) -> None:
        if sql is not None:
            self.load_text(sql)
            self.move_cursor((self.document.line_count - 1, len(self.document.get_line(-1))))

    async def _on_key(self, event: events.Key) -> None:
        if self.completing:
            steer = {"up": "up", "down": "down", "tab": "take", "enter": "take"}
            action = steer.get(event.key, "close")
            self.post_message(self.CompletionKey(action))
            if action != "close" or event.key == "escape":
                event.prevent_default()
                event.stop()
                return
        cursor = self.history_cursor
        row, _ = self.cursor_location
        if cursor is not None and not self.selection.start != self.selection.end:
            if event.key == "up" and row == 0:
                if cursor.on_draft:
                    cursor.draft = self.text
                recalled = cursor.older()
                if recalled is not None:
                    event.prevent_default()
                    event.stop()
                    self._recall(recalled)
                    return
            elif event.key == "down" and row == self.document.line_count - 1:
                recalled = cursor.newer()
                if recalled is not None:
                    event.prevent_default()
                    event.stop()
                    self._recall(recalled)
                    return
        await super()._on_key(event)


def completion_options(candidates: list[Candidate]) -> list[Option]:
    """The candidates as options, each with its kind beside it."""
    options = []
    for index, candidate in enumerate(candidates):
        label = safe_text(candidate.text)
        label.append(f"  {candidate.kind}", style="dim")
        options.append(Option(label, id=str(index)))
    return options
