"""The editor's SQL highlighting: Pygments' spans and the theme's names for their styles."""

from __future__ import annotations

from dbinspect.tui.query.highlight import lexer_for, line_spans


def named(text: str, dialect: str = "sqlite") -> list[list[tuple[str, str]]]:
    """Each line's highlighted pieces of text and their style names."""
    lines = text.split("\n")
    return [
        [(lines[row][start:end], name) for start, end, name in spans]
        for row, spans in enumerate(line_spans(text, lexer_for(dialect)))
    ]


def test_keywords_strings_numbers_and_comments_get_their_names() -> None:
    assert named("select 'a,b', 1.5 from t -- note") == [
        [
            ("select", "keyword"),
            ("'a,b'", "string"),
            ("1", "number"),
            ("5", "number"),
            ("from", "keyword"),
            ("-- note", "comment"),
        ]
    ]


def test_a_quoted_identifier_is_not_styled_as_a_string() -> None:
    assert named('select "select" from "t"') == [[("select", "keyword"), ("from", "keyword")]]


def test_a_comment_and_a_string_across_lines_are_split_at_each_newline() -> None:
    assert named("/* one\ntwo */ select 'x\ny'") == [
        [("/*", "comment"), (" one", "comment")],
        [("two ", "comment"), ("*/", "comment"), ("select", "keyword"), ("'x", "string")],
        [("y'", "string")],
    ]


def test_empty_lines_and_an_empty_text_have_no_spans() -> None:
    assert named("") == [[]]
    assert named("select 1\n\n") == [[("select", "keyword"), ("1", "number")], [], []]


def test_postgres_dollar_quoting_is_one_string() -> None:
    pieces = [piece for line in named("select $$a 'b$$", "postgres") for piece in line]
    assert ("select", "keyword") in pieces
    assert all(name == "string" for text, name in pieces if text != "select")
    assert "".join(text for text, _ in pieces if text != "select") == "$$a 'b$$"
