"""Where the editor's SQL is highlighted: spans per line, from Pygments' SQL lexers.

Textual's TextArea highlights through tree-sitter, whose SQL grammar costs about 30 MB
once loaded and its highlight query compiled (13 MB again for every new document): a
third of the app's memory budget. Pygments is already loaded for the Schema pane's SQL,
and its lexers cost next to nothing; the spans carry the names TextArea themes style
(`keyword`, `string`, ...), so the highlighting follows the editor's theme.
"""

from __future__ import annotations

from pygments.lexer import Lexer
from pygments.lexers.sql import PostgresLexer, SqlLexer
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    String,
    _TokenType,
)

Span = tuple[int, int, str]
"""Start and end column (characters) on one line, and the theme's name for its style."""

_NAMES: tuple[tuple[_TokenType, str | None], ...] = (
    (String.Symbol, None),  # a quoted identifier ("name"), not a string
    (Keyword.Constant, "boolean"),
    (Keyword, "keyword"),
    (Name.Builtin, "type"),
    (Name.Function, "function.call"),
    (Name.Variable, "variable"),
    (String, "string"),
    (Number, "number"),
    (Comment, "comment"),
    (Operator.Word, "keyword"),
    (Operator, "operator"),
)


def lexer_for(dialect: str) -> Lexer:
    """The lexer for a dialect (`postgres` or `sqlite`), reading the text as given."""
    lexer_class = PostgresLexer if dialect == "postgres" else SqlLexer
    return lexer_class(stripnl=False, ensurenl=False, tabsize=0)


def _style_name(token: _TokenType) -> str | None:
    for kind, name in _NAMES:
        if token[: len(kind)] == kind:  # `token in kind`, which the type stubs refuse
            return name
    return None


def line_spans(text: str, lexer: Lexer) -> list[list[Span]]:
    """The highlighted spans of each line of `text` (lines split at `\\n`)."""
    lines: list[list[Span]] = [[] for _ in range(text.count("\n") + 1)]
    row, row_start = 0, 0
    for index, token, value in lexer.get_tokens_unprocessed(text):
        name = _style_name(token)
        start = index
        # A token can span lines (a block comment, a string with a newline).
        for part in value.split("\n"):
            if start > index:  # past a newline
                row, row_start = row + 1, start
            if name is not None and part:
                lines[row].append((start - row_start, start - row_start + len(part), name))
            start += len(part) + 1
    return lines
