"""The one escaping helper: every control, C1 and bidi character, and nothing else."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote as quote_url

import pytest
from hostile_text import HOSTILE, raw_controls
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from dbinspect.browse.protocol import Relation
from dbinspect.export.exporter import default_target
from dbinspect.ops.backup import default_target as backup_target
from dbinspect.ops.repair import default_output as repair_output
from dbinspect.textsafe import escape_controls, escape_json, file_stem
from dbinspect.tui.sanitize import escape_text
from dbinspect.url import parse_url


def test_every_kind_of_control_becomes_a_visible_escape() -> None:
    assert escape_controls("\x1b\x00\x7f\x85\x9b\x9d") == "\\x1b\\x00\\x7f\\x85\\x9b\\x9d"
    assert escape_controls("\u202a\u202e\u2066\u2069") == "\\u202a\\u202e\\u2066\\u2069"
    assert escape_controls("\u200e\u200f\u061c") == "\\u200e\\u200f\\u061c"
    assert escape_controls("tab\tnew\nline", keep="\n") == "tab\\x09new\nline"
    assert escape_controls("é 日本 — ✓ µs") == "é 日本 — ✓ µs"


def test_a_name_that_was_not_utf8_shows_its_bytes() -> None:
    name = os.fsdecode(b"bad\xff\x9bname")  # as os.listdir returns it
    assert escape_controls(name) == "bad\\xff\\x9bname"
    assert escape_controls("\ud800") == "\\ud800"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_escaped_text_holds_no_control_and_json_keeps_its_value(value: str) -> None:
    assert raw_controls(escape_controls(value)) == []
    document = escape_json(json.dumps({"v": value}, ensure_ascii=False, indent=2))
    assert raw_controls(document, allow="\n") == []
    assert json.loads(document) == {"v": value}


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\x7fb", "a\\u007fb"),  # ASCII, but DEL
        ("a\tb\rc", "a\\u0009b\\u000dc"),  # ASCII controls written raw
        ("a\x9bb", "a\\u009bb"),  # C1
        ("plain\nlines", "plain\nlines"),  # nothing to escape: the document as it was
    ],
)
def test_a_json_document_keeps_its_newlines_and_escapes_every_other_control(
    raw: str, escaped: str
) -> None:
    assert escape_json(f'{{\n  "v": "{raw}"\n}}\n') == f'{{\n  "v": "{escaped}"\n}}\n'


def test_styled_text_is_escaped_and_keeps_its_styles() -> None:
    line = Text("failed: ", style="bold") + Text(HOSTILE, style="red")
    escaped = escape_text(line)
    assert raw_controls(escaped.plain) == []
    # Rich itself drops BEL, BS, VT, FF and CR from a Text; the rest is escaped.
    assert escaped.plain == "failed: " + escape_controls(HOSTILE.replace("\x07", ""))
    assert escaped.style == "bold"
    last = escaped.get_style_at_offset(Console(), len(escaped.plain) - 1)
    assert last.color is not None and last.color.name == "red"
    plain = Text("nothing to escape", style="dim")
    assert escape_text(plain) is plain


@given(st.text())
def test_a_proposed_file_name_holds_no_control_and_stays_in_its_folder(name: str) -> None:
    stem = file_stem(name)
    assert raw_controls(stem) == []
    assert "/" not in stem and "\\" not in stem and not stem.startswith(".")
    assert len(stem) <= len(name)


def test_every_proposed_file_name_is_safe_to_show(tmp_path: Path) -> None:
    database = tmp_path / f"{HOSTILE}.db"
    stamp = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    proposals = [
        default_target(Relation(None, HOSTILE), "csv", tmp_path),
        backup_target(parse_url(str(database)), "sqlite", stamp),
        backup_target(parse_url(f"postgres://localhost/{quote_url(HOSTILE)}"), "json", stamp),
        repair_output(database, stamp),
    ]
    for proposal in proposals:
        assert proposal.parent == tmp_path or proposal.parent == Path.cwd()
        assert raw_controls(proposal.name) == [], proposal.name
        assert proposal.name.startswith("a_")  # the name's ordinary characters stay
