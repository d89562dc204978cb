"""Tests the editor buffers: kept per database across restarts, and files that fail."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from dbinspect.query.buffers import MAX_BUFFER_BYTES, MAX_BUFFERS, Buffers, BuffersError
from dbinspect.query.storage import DATA_DIR_VARIABLE, StorageError


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(folder))
    return folder


def test_a_new_database_has_one_empty_buffer() -> None:
    buffers = Buffers.load("db")
    assert buffers.names == ["Query 1"]
    assert buffers.active.text == ""
    assert buffers.problem is None
    assert not buffers.path.exists()


def test_buffers_survive_a_restart_in_a_0600_file(data_dir: Path) -> None:
    buffers = Buffers.load("db")
    buffers.active.text = "select 1;\nselect 'ünï \u2028 \"x\"'"
    buffers.active.cursor = (1, 4)
    second = buffers.add("Report\tdraft", "select 2")
    assert second.name == "Report draft"
    assert second.cursor == (0, 8)
    buffers.add()
    buffers.select(1)
    report = buffers.save()
    assert report.ok
    again = Buffers.load("db")
    assert again.names == ["Query 1", "Report draft", "Query 2"]
    assert again.buffers[0].text == "select 1;\nselect 'ünï \u2028 \"x\"'"
    assert again.buffers[0].cursor == (1, 4)
    assert again.active.name == "Report draft"
    assert again.problem is None
    assert buffers.path.parent == data_dir / "buffers"
    assert stat.S_IMODE(buffers.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(buffers.path.parent.stat().st_mode) == 0o700
    assert Buffers.load("another db").names == ["Query 1"]


def test_add_remove_rename_select() -> None:
    buffers = Buffers.load("db")
    buffers.add("a")
    buffers.add("b")
    assert buffers.names == ["Query 1", "a", "b"]
    assert buffers.active.name == "b"
    buffers.select(1)
    buffers.remove(0)
    assert buffers.active.name == "a"  # the active one stays active
    buffers.remove(0)
    assert buffers.active.name == "b"  # the next one takes over
    buffers.rename(0, "  renamed  ")
    assert buffers.names == ["renamed"]
    assert buffers.remove(0).name == "renamed"
    assert buffers.names == ["Query 1"]  # never none
    buffers.add("x")
    buffers.remove(1)
    assert buffers.active.name == "Query 1"  # the last removed: the previous one
    with pytest.raises(IndexError):
        buffers.select(5)
    with pytest.raises(IndexError):
        buffers.remove(-1)


def test_names_are_checked() -> None:
    buffers = Buffers.load("db")
    buffers.add("Sales")
    with pytest.raises(BuffersError, match="already"):
        buffers.add("sales")
    with pytest.raises(BuffersError, match="already"):
        buffers.rename(0, "SALES")
    buffers.rename(1, "sales")  # its own name in another case is fine
    with pytest.raises(BuffersError, match="needs a name"):
        buffers.rename(0, " \n ")
    with pytest.raises(BuffersError, match="control"):
        buffers.add("evil\x1b]2;pwned\x07")
    with pytest.raises(BuffersError, match="at most"):
        buffers.add("n" * 61)
    for _ in range(MAX_BUFFERS - len(buffers.buffers)):
        buffers.add()
    with pytest.raises(BuffersError, match=f"at most {MAX_BUFFERS}"):
        buffers.add()
    assert buffers.names[2] == "Query 2"


def test_a_buffer_too_large_keeps_its_last_saved_text_on_disk() -> None:
    buffers = Buffers.load("db")
    buffers.active.text = "select 'small'"
    assert buffers.save().ok
    huge = "x" * (MAX_BUFFER_BYTES // 2) + "é" * (MAX_BUFFER_BYTES // 4 + 1)
    buffers.active.text = huge
    fresh = buffers.add("fresh", huge)
    report = buffers.save()
    assert report.error is None
    assert report.too_large == ("Query 1", "fresh")
    assert not report.ok
    assert fresh.too_large
    assert buffers.active.text == huge  # still in memory
    again = Buffers.load("db")
    assert again.names == ["Query 1"]
    assert again.active.text == "select 'small'"
    assert buffers.path.stat().st_size < 10_000


def test_a_corrupt_file_loads_as_one_empty_buffer(data_dir: Path) -> None:
    path = Buffers.load("db").path
    path.parent.mkdir(parents=True)
    for content, problem in [
        (b"{not json", "not valid JSON"),
        (os.urandom(2048), "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b'["a list"]', "not a buffers file"),
        (b'{"buffers": "text"}', "not a buffers file"),
    ]:
        path.write_bytes(content)
        buffers = Buffers.load("db")
        assert buffers.names == ["Query 1"]
        assert buffers.problem is not None and problem in buffers.problem
        assert buffers.save().ok  # and it can be saved over
        assert Buffers.load("db").problem is None


def test_bad_entries_are_skipped_and_bad_fields_made_safe(data_dir: Path) -> None:
    path = Buffers.load("db").path
    path.parent.mkdir(parents=True)
    document = {
        "active": 99,
        "buffers": [
            {"name": "ok", "text": "one\ntwo", "cursor": [7, 99]},
            {"name": "OK", "text": "a duplicate name"},
            {"name": 5, "text": "x"},
            {"name": "bell\x07", "text": "x"},
            {"name": "no text"},
            "not an object",
            {"name": "negative", "text": "abc", "cursor": [-1, True]},
        ],
    }
    path.write_text(json.dumps(document))
    buffers = Buffers.load("db")
    assert buffers.names == ["ok", "negative"]
    assert buffers.buffers[0].cursor == (1, 3)  # clamped to the text
    assert buffers.buffers[1].cursor == (0, 0)
    assert buffers.active.name == "negative"
    assert buffers.problem is None


def test_a_folder_at_the_file_is_reported(data_dir: Path) -> None:
    buffers = Buffers.load("db")
    buffers.path.mkdir(parents=True)
    assert Buffers.load("db").problem is not None
    buffers.active.text = "select 1"
    report = buffers.save()
    assert isinstance(report.error, StorageError)
    assert "editor buffers could not be saved" in report.error.one_line()
    assert buffers.active.text == "select 1"
    assert list(buffers.path.parent.iterdir()) == [buffers.path]  # no temp file left


def test_a_symlink_at_the_file_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    buffers = Buffers.load("db")
    buffers.path.parent.mkdir(parents=True)
    buffers.path.symlink_to(victim)
    assert buffers.save().ok
    assert victim.read_text() == "precious"
    assert not buffers.path.is_symlink()
