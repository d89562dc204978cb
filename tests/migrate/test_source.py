"""Tests the folder rules: names, pairs, descriptions, checksums and statement splitting."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from migrate_helpers import SQLX, write_folder

from dbinspect.config import load_sqlx_settings
from dbinspect.errors import MigrationError, MigrationSourceError
from dbinspect.migrate import checksum, load_migrations, parse_file_name, split_statements
from dbinspect.migrate.migrator import PreparedSql
from dbinspect.migrate.migrator import prepare as prepare_for
from dbinspect.migrate.records import Migration
from dbinspect.migrate.sqlite_dialect import SQLITE
from dbinspect.migrate.statements import explain_checksum_difference


def prepare(migration: Migration) -> PreparedSql:
    return prepare_for(migration, SQLITE)


def test_checksum_test_vector() -> None:
    digest = checksum(b"-- Add migration script here\n")
    assert len(digest) == 48
    assert digest.hex().startswith("ff95923e")
    assert digest.hex().endswith("e736b892")


@pytest.mark.parametrize(
    ("name", "version", "description", "role"),
    [
        ("1_user.sql", 1, "user", "simple"),
        ("0001_create_users_table.up.sql", 1, "create users table", "up"),
        ("20220721124650_add_table.down.sql", 20220721124650, "add table", "down"),
        ("3_drop-events.sql", 3, "drop-events", "simple"),
        ("007_x.sql.sql", 7, "x", "simple"),
        # Rust's i64 parse, as sqlx's: both ends of the range.
        ("9223372036854775807_max.sql", 2**63 - 1, "max", "simple"),
        ("-9223372036854775808_min.sql", -(2**63), "min", "simple"),
    ],
)
def test_names_split_at_first_underscore(
    name: str, version: int, description: str, role: str
) -> None:
    parsed = parse_file_name(Path(name))
    assert parsed is not None
    assert (parsed.version, parsed.description, parsed.role) == (version, description, role)


@pytest.mark.parametrize("name", ["README.md", "1_notes.txt", "nounderscore.sql", "1_x.sql.bak"])
def test_names_sqlx_ignores(name: str) -> None:
    assert parse_file_name(Path(name)) is None


@pytest.mark.parametrize(
    "name",
    [
        "v1_users.sql",
        "1a_users.sql",
        ".1_users.sql",
        "_x.sql",
        "9223372036854775808_over.sql",
        "-9223372036854775809_under.sql",
    ],
)
def test_non_integer_prefix_is_an_error_not_a_skip(tmp_path: Path, name: str) -> None:
    folder = write_folder(tmp_path / "m", {"1_ok.sql": "select 1;", name: "select 2;"})
    with pytest.raises(MigrationSourceError, match="integer version") as info:
        load_migrations(folder)
    assert info.value.hint


def test_folder_is_sorted_paired_and_checksummed(tmp_path: Path) -> None:
    files = {
        "2_second.up.sql": "create table b(x);\n",
        "2_second.down.sql": "drop table b;\n",
        "10_tenth.sql": "-- no-transaction\nvacuum;\n",
        "1_first.sql": "create table a(x);\r\n",
        "notes.md": "ignored",
    }
    folder = write_folder(tmp_path / "m", files)
    (folder / "3_sub.sql").mkdir()  # a folder is not a migration, and is not entered
    migrations = load_migrations(folder)
    assert [m.version for m in migrations] == [1, 2, 10]
    first, second, tenth = migrations
    assert first.kind == "simple" and first.down_sql is None
    assert first.checksum == hashlib.sha384(b"create table a(x);\r\n").digest()
    assert second.kind == "reversible" and second.down_sql == "drop table b;\n"
    assert second.down_path == folder / "2_second.down.sql"
    assert second.checksum == hashlib.sha384(b"create table b(x);\n").digest()
    assert tenth.no_transaction and not first.no_transaction


def test_symlinked_file_is_followed(tmp_path: Path) -> None:
    real = write_folder(tmp_path / "elsewhere", {"x.sql": "create table a(x);\n"})
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "1_linked.sql").symlink_to(real / "x.sql")
    [migration] = load_migrations(folder)
    assert migration.up_sql == "create table a(x);\n"


def test_no_transaction_needs_the_exact_first_bytes(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "m",
        {
            "1_a.sql": " -- no-transaction\nvacuum;",
            "2_b.sql": "\ufeff-- no-transaction\nvacuum;",
            "3_c.sql": "-- no-transaction\nvacuum;",
        },
    )
    assert [m.no_transaction for m in load_migrations(folder)] == [False, False, True]


@pytest.mark.parametrize(
    "files",
    [
        {"1_a.sql": "select 1;", "1_b.sql": "select 2;"},
        {"1_a.sql": "select 1;", "1_b.up.sql": "select 2;"},
        {"1_a.up.sql": "select 1;", "1_b.up.sql": "select 2;"},
        {"01_a.sql": "select 1;", "1_b.sql": "select 2;"},
    ],
)
def test_duplicate_versions_are_refused(tmp_path: Path, files: dict[str, str]) -> None:
    with pytest.raises(MigrationSourceError, match="duplicate migration version 1"):
        load_migrations(write_folder(tmp_path / "m", files))


def test_down_file_without_up_file_is_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", {"1_a.sql": "select 1;", "2_b.down.sql": "select 2;"})
    with pytest.raises(MigrationSourceError, match="without its up file"):
        load_migrations(folder)


def test_non_utf8_file_is_refused(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "m", {"1_latin1.sql": b"insert into t values ('caf\xe9');"})
    with pytest.raises(MigrationSourceError, match="not UTF-8"):
        load_migrations(folder)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MigrationSourceError, match="migrations folder not found"):
        load_migrations(tmp_path / "nope")


def test_ignored_chars_make_the_four_variants_equal() -> None:
    base = SQLX / "sqlx-cli" / "tests" / "ignored-chars"
    settings, origin = load_sqlx_settings(base)
    assert origin is not None and "\ufeff" in settings.ignored_chars
    variants = ["LF", "CRLF", "BOM", "oops-all-tabs"]
    plain = {v: [m.checksum for m in load_migrations(base / v)] for v in variants}
    ignoring = {v: [m.checksum for m in load_migrations(base / v, settings)] for v in variants}
    assert len({tuple(c) for c in plain.values()}) == 4  # the bytes differ...
    assert len({tuple(c) for c in ignoring.values()}) == 1  # ...the ignoring checksums don't
    stripped = (base / "LF" / "1_user.sql").read_bytes().translate(None, b" \t\r\n")
    assert ignoring["LF"][0] == hashlib.sha384(stripped).digest()


def test_split_keeps_trigger_bodies_whole() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'a;b');
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET note = 'x;' WHERE id = new.id;
        SELECT 1;
    END;
    /* block ; comment */ INSERT INTO t (note) VALUES ("q;");
    SELECT 2 -- no semicolon at the end
    """
    statements = split_statements(sql)
    assert [s.keyword for s in statements] == ["CREATE", "CREATE", "INSERT", "SELECT"]
    assert statements[1].body.rstrip().endswith("END;")
    assert statements[2].label() == 'statement 3: INSERT INTO t (note) VALUES ("q;")'


def test_split_ignores_empty_statements_and_trailing_comments() -> None:
    statements = split_statements(";\n;select 1;\n-- done\n")
    assert [s.number for s in statements] == [1]
    assert statements[0].body == "select 1;"


def _reversible(tmp_path: Path, up: str) -> Path:
    return write_folder(tmp_path / "m", {"1_x.up.sql": up, "1_x.down.sql": "select 1;"})


@pytest.mark.parametrize(
    "up",
    [
        "BEGIN;\ncreate table a(x);\nCOMMIT;",
        "create table a(x);\nBEGIN TRANSACTION;",
        "create table a(x);\ncommit;",
        "create table a(x);\nEND TRANSACTION;",
        "create table a(x);\nrollback;",
        "VACUUM;",
        "/* cleanup */ vacuum;",
    ],
)
def test_transaction_control_is_refused_with_no_transaction_hint(tmp_path: Path, up: str) -> None:
    [migration] = load_migrations(_reversible(tmp_path, up))
    with pytest.raises(MigrationError, match="cannot run inside") as info:
        prepare(migration)
    assert info.value.hint is not None and "-- no-transaction" in info.value.hint


@pytest.mark.parametrize(
    "up",
    [
        "create table a(x);\ncreate trigger t after insert on a begin select 1; end;",
        "savepoint s; create table a(x); rollback to s; release s;",
        "-- no-transaction\nBEGIN; create table a(x); COMMIT; VACUUM;",
        "create table a(x, note default 'BEGIN;');",
    ],
)
def test_allowed_statements_are_not_refused(tmp_path: Path, up: str) -> None:
    [migration] = load_migrations(_reversible(tmp_path, up))
    assert prepare(migration).statements


def test_foreign_keys_pragma_warns(tmp_path: Path) -> None:
    [migration] = load_migrations(_reversible(tmp_path, "PRAGMA foreign_keys=OFF;\nselect 1;"))
    [warning] = prepare(migration).warnings
    assert "no effect" in warning and "statement 1" in warning


def test_checksum_difference_explained() -> None:
    lf = b"create table a(x);\nselect 1;\n"
    crlf = lf.replace(b"\n", b"\r\n")
    bom = b"\xef\xbb\xbf" + lf
    assert explain_checksum_difference(crlf, hashlib.sha384(lf).digest()) == (
        "line endings (CRLF/LF)"
    )
    assert explain_checksum_difference(lf, hashlib.sha384(crlf).digest()) is not None
    assert "BOM" in (explain_checksum_difference(bom, hashlib.sha384(lf).digest()) or "")
    edited = b"create table a(y);\n"
    assert explain_checksum_difference(edited, hashlib.sha384(lf).digest()) is None
