"""Tests that database text is shown literally, with control characters escaped."""

from __future__ import annotations

from rich.console import Console

from dbinspect.tui.sanitize import escape_controls, safe_text


def test_controls_become_visible_escapes() -> None:
    hostile = "x\x1b]52;c;aGVsbG8=\x07y\x9b2J\u202egnp.exe\u2066\x7f\t\n"
    plain = safe_text(hostile).plain
    assert plain == "x\\x1b]52;c;aGVsbG8=\\x07y\\x9b2J\\u202egnp.exe\\u2066\\x7f\\x09\\x0a"
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in plain)


def test_markup_is_never_parsed() -> None:
    for name in ["[/]", "[@click=app.quit]x", "[link=https://e.x]y[/link]", "[bold]b"]:
        text = safe_text(name)
        assert text.plain == name
        assert not text.spans
        console = Console(width=80, record=True, color_system=None)
        console.print(text)
        assert console.export_text().rstrip("\n") == name


def test_null_bytes_and_truncation() -> None:
    assert safe_text(None).plain == "NULL"
    assert safe_text(None).style == "dim italic"
    assert safe_text(b"\x00\xff").plain == "<2 bytes> 00 ff"
    assert safe_text("abcdef", max_chars=4).plain == "abc…"
    assert safe_text(1.5).plain == "1.5"
    assert escape_controls("plain é 日本") == "plain é 日本"
