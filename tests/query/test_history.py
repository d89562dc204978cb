"""Tests the query history: per-database files, recall, search, and files that fail."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dbinspect.query import history as history_module
from dbinspect.query.history import MAX_ENTRIES, History, HistoryCursor, history_key
from dbinspect.query.storage import DATA_DIR_VARIABLE, StorageError
from dbinspect.url import parse_url


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_VARIABLE, str(folder))
    return folder


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_entries_survive_a_restart_in_a_0600_file(data_dir: Path) -> None:
    history = History.load("db-a")
    assert history.add("select 1", now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) is None
    assert history.add("select\n  'ünï' -- \u2028 \"q\"") is None
    again = History.load("db-a")
    assert [entry.sql for entry in again.entries] == ["select 1", "select\n  'ünï' -- \u2028 \"q\""]
    assert again.entries[0].at == "2026-01-02T03:04:05+00:00"
    assert history.path.parent == data_dir / "history"
    assert history.path.suffix == ".jsonl" and len(history.path.stem) == 64
    assert _mode(history.path) == 0o600
    assert _mode(history.path.parent) == 0o700
    assert _mode(data_dir) == 0o700
    assert len(history.path.read_bytes().splitlines()) == 2  # U+2028 does not split a line


def test_each_database_has_its_own_file() -> None:
    History.load("db-a").add("select 'a'")
    History.load("db-b").add("select 'b'")
    assert [e.sql for e in History.load("db-a").entries] == ["select 'a'"]
    assert [e.sql for e in History.load("db-b").entries] == ["select 'b'"]


def test_blank_and_consecutive_duplicate_statements_are_not_recorded() -> None:
    history = History.load("db")
    for sql in ["select 1", "select 1", "  \n ", "", "select 2", "select 1"]:
        history.add(sql)
    assert [e.sql for e in History.load("db").entries] == ["select 1", "select 2", "select 1"]


def test_the_file_is_trimmed_to_the_newest_entries() -> None:
    history = History.load("db")
    total = MAX_ENTRIES + MAX_ENTRIES // 10 + 5
    for number in range(total):
        history.add(f"select {number}")
    reloaded = History.load("db")
    assert len(history.entries) == MAX_ENTRIES
    assert reloaded.entries[-1].sql == f"select {total - 1}"
    assert len(reloaded.entries) == MAX_ENTRIES
    lines = history.path.read_bytes().splitlines()
    assert MAX_ENTRIES <= len(lines) < MAX_ENTRIES + MAX_ENTRIES // 10
    assert _mode(history.path) == 0o600  # the rewritten file too


def test_a_trim_keeps_what_another_instance_appended() -> None:
    first, second = History.load("db"), History.load("db")
    for number in range(MAX_ENTRIES):
        first.add(f"select {number}")
    second.add("from the other window")
    for number in range(MAX_ENTRIES // 10 + 1):
        first.add(f"again {number}")
    assert "from the other window" in [e.sql for e in History.load("db").entries]


def test_a_huge_statement_is_recalled_but_not_written() -> None:
    history = History.load("db")
    huge = "select '" + "x" * (history_module.MAX_SQL_CHARS + 1) + "'"
    assert history.add(huge) is None
    assert history.entries[-1].sql == huge
    assert History.load("db").entries == []


def test_a_corrupt_file_is_read_for_what_it_holds(data_dir: Path) -> None:
    history = History.load("db")
    history.path.parent.mkdir(parents=True)
    good = json.dumps({"sql": "select 'kept'", "at": "2026-01-01T00:00:00+00:00"})
    history.path.write_bytes(
        b"\xff\xfe not json\n[1, 2]\n"
        + good.encode()
        + b'\n{"sql": 5}\n{"sql": "   "}\n'
        + b"[" * 100_000
        + b"\n"
    )
    assert [e.sql for e in History.load("db").entries] == ["select 'kept'"]
    history = History.load("db")
    assert history.add("select 'new'") is None
    assert [e.sql for e in History.load("db").entries] == ["select 'kept'", "select 'new'"]


def test_a_binary_or_unreadable_file_reads_as_empty(data_dir: Path) -> None:
    history = History.load("db")
    history.path.parent.mkdir(parents=True)
    history.path.write_bytes(os.urandom(4096))
    assert History.load("db").entries == []
    history.path.unlink()
    history.path.mkdir()  # a folder where the file should be
    assert History.load("db").entries == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through read-only folders")
def test_a_read_only_folder_is_reported_once_and_entries_stay_in_memory(data_dir: Path) -> None:
    history = History.load("db")
    assert history.add("select 1") is None
    history.path.parent.chmod(0o500)
    history.path.chmod(0o400)
    try:
        error = history.add("select 2")
        assert isinstance(error, StorageError)
        assert "query history could not be saved" in error.one_line()
        assert DATA_DIR_VARIABLE in error.one_line()
        assert history.failing
        assert history.add("select 3") is None  # said once
        assert [e.sql for e in history.entries] == ["select 1", "select 2", "select 3"]
        assert [e.sql for e in History.load("db").entries] == ["select 1"]
    finally:
        history.path.parent.chmod(0o700)
        history.path.chmod(0o600)
    assert history.add("select 4") is None
    assert not history.failing
    assert [e.sql for e in History.load("db").entries] == ["select 1", "select 4"]


def test_a_folder_that_cannot_be_made_is_reported_once(data_dir: Path) -> None:
    history = History.load("db")
    assert history.add("select 1") is None
    folder = history.path.parent
    folder.rename(data_dir / "moved")
    folder.write_text("a file where the folder should be")
    error = history.add("select 2")
    assert isinstance(error, StorageError)
    assert str(data_dir) in error.one_line()
    assert history.add("select 3") is None  # said once
    assert history.failing
    assert [e.sql for e in history.entries] == ["select 1", "select 2", "select 3"]
    folder.unlink()
    (data_dir / "moved").rename(folder)
    assert history.add("select 4") is None
    assert [e.sql for e in History.load("db").entries] == ["select 1", "select 4"]
    folder.rename(data_dir / "moved")
    folder.write_text("again")
    assert isinstance(history.add("select 5"), StorageError)  # a new failure is said again


def test_a_symlink_planted_at_the_file_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    history = History.load("db")
    history.path.parent.mkdir(parents=True)
    history.path.symlink_to(victim)
    assert isinstance(history.add("select 1"), StorageError)
    assert victim.read_text() == "precious\n"


def test_search_matches_every_word_case_insensitively_newest_first() -> None:
    history = History.load("db")
    for sql in [
        "SELECT name FROM Customers",
        "select total from invoices",
        "select NAME from customers where id = 1",
        "SELECT name FROM Customers",
    ]:
        history.add(sql)
    assert [e.sql for e in history.search("customers NAME")] == [
        "SELECT name FROM Customers",
        "select NAME from customers where id = 1",
    ]
    assert [e.sql for e in history.search("  invoices  ")] == ["select total from invoices"]
    assert history.search("customers invoices") == []
    assert len(history.search("")) == 3  # the repeated statement once
    assert len(history.search("select", limit=2)) == 2


def test_up_and_down_recall_return_to_the_draft() -> None:
    history = History.load("db")
    for sql in ["one", "two", "three"]:
        history.add(sql)
    cursor = history.cursor("half typed")
    assert cursor.on_draft
    assert cursor.newer() is None
    assert [cursor.older(), cursor.older(), cursor.older()] == ["three", "two", "one"]
    assert cursor.older() is None  # stays on the oldest
    assert cursor.newer() == "two"
    assert cursor.newer() == "three"
    assert cursor.newer() == "half typed"
    assert cursor.on_draft
    assert cursor.newer() is None
    assert cursor.older() == "three"


def test_recall_on_an_empty_history_has_nothing() -> None:
    cursor = HistoryCursor([], "draft")
    assert cursor.older() is None
    assert cursor.newer() is None
    assert cursor.on_draft


def test_keys_name_the_database_without_a_password(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    relative = os.path.relpath(db)
    assert history_key(parse_url(str(db))) == history_key(parse_url(f"sqlite:{relative}"))
    assert history_key(parse_url(str(db))) == f"sqlite:{db.resolve()}"
    pg = history_key(parse_url("postgres://alice:s3cret@db.example:5432/shop"))
    assert "s3cret" not in pg
    assert pg == history_key(parse_url("postgres://alice:other@db.example:5432/shop"))
    assert pg != history_key(parse_url("postgres://alice@db.example:5432/other"))
    History.load(pg).add("select 1")
    assert [e.sql for e in History.load(pg).entries] == ["select 1"]


def test_without_the_variable_the_users_data_directory_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(DATA_DIR_VARIABLE)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    history = History.load("db")
    assert history.path.parent == tmp_path / "xdg" / "dbinspect" / "history"
