"""Tests dbmate folders on SQLite: reading, running, reverting, showing, refusing, dumping.

The round trips run dbmate itself (see dbmate_kit); everything else needs no dbmate.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from dbmate_kit import require_dbmate, run_dbmate
from migrate_helpers import dump, write_folder

from dbinspect.cli import cli
from dbinspect.config import SqlxSettings
from dbinspect.errors import (
    DbInspectError,
    MigrationFailedError,
    MigrationSourceError,
    MissingMigrationError,
)
from dbinspect.migrate import aio
from dbinspect.migrate.dbmate import is_dbmate_folder, load_dbmate, parse_sections
from dbinspect.migrate.runner import migration_status, revert_migrations, run_migrations
from dbinspect.ops.schema_dbmate import trim_leading_sql_comments
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

USERS = (
    "-- migrate:up\n"
    "create table users (id integer primary key, name text not null);\n"
    "create index users_name on users (name);\n"
    "\n"
    "-- migrate:down\n"
    "drop table users;\n"
)
POSTS = (
    "-- migrate:up transaction:false\n"
    "create table posts (id integer primary key, user_id integer references users (id));\n"
    "\n"
    "-- migrate:down\n"
    "drop table posts;\n"
)
TAGS = (
    "-- migrate:up\n"
    "create table tags (name text primary key);\n"
    "insert into tags values ('a'), ('b');\n"
    "-- migrate:down\n"
    "drop table tags;\n"
)
FILES = {
    "20240101000000_create_users.sql": USERS,
    "20240102000000_posts.sql": POSTS,
    "20240103000000_tags.sql": TAGS,
}


def versions(path: Path) -> list[str]:
    """schema_migrations' rows, as dbmate stores them (text)."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT version, typeof(version) FROM schema_migrations ORDER BY 1")
        return [f"{v}:{t}" for v, t in rows.fetchall()]
    finally:
        conn.close()


def tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'").fetchall()
        return {str(n) for (n,) in rows}
    finally:
        conn.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "db" / "migrations", dict(FILES))


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


# Reading


def test_sections_are_read_as_dbmate_reads_them() -> None:
    up, down = parse_sections(POSTS, "x.sql")
    assert up == (
        "-- migrate:up transaction:false\n"
        "create table posts (id integer primary key, user_id integer references users (id));\n"
        "\n"
    )
    assert down == "-- migrate:down\ndrop table posts;\n"
    crlf = "--migrate:up\r\ncreate table a (x);\r\n--  migrate:down\r\ndrop table a;\r\n"
    assert parse_sections(crlf, "y.sql") == (
        "--migrate:up\r\ncreate table a (x);\r\n",
        "--  migrate:down\r\ndrop table a;\r\n",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("create table a (x);\n", "define an up block with '-- migrate:up'"),
        ("-- migrate:up\ncreate table a (x);\n", "define a down block"),
        ("create table a (x);\n-- migrate:up\n-- migrate:down\n", "statements preceding"),
        ("-- migrate:down\n-- migrate:up\n", "'-- migrate:up' to appear before"),
        ("-- migrate:up\n-- migrate:down\n-- migrate:down\n", "preceded by a '-- migrate:up'"),
        ("-- migrate:up\n-- migrate:down\n-- migrate:up\n-- migrate:down\n", "2 '-- migrate:up'"),
        ("-- migrate:upx\n-- migrate:down\n", "define an up block"),
    ],
)
def test_files_dbmate_refuses_are_refused(text: str, message: str) -> None:
    with pytest.raises(MigrationSourceError, match=message.replace("(", r"\(")):
        parse_sections(text, "bad.sql")


def test_the_folder_is_dbmate_s_by_its_marker(folder: Path, tmp_path: Path) -> None:
    assert is_dbmate_folder(folder)
    sqlx = write_folder(tmp_path / "sqlx", {"0001_a.sql": "CREATE TABLE a (x);\n"})
    assert not is_dbmate_folder(sqlx)
    assert not is_dbmate_folder(tmp_path / "nowhere")
    files = load_dbmate(folder)
    assert [(f.version_text, f.migration.description) for f in files] == [
        ("20240101000000", "create users"),
        ("20240102000000", "posts"),
        ("20240103000000", "tags"),
    ]
    assert [f.up_transaction for f in files] == [True, False, True]
    assert all(f.down_transaction for f in files)


def test_two_files_of_one_version_are_refused(folder: Path, tmp_path: Path) -> None:
    (folder / "20240101000000_again.sql").write_text(USERS)
    with pytest.raises(MigrationSourceError, match="duplicate migration version 20240101000000"):
        load_dbmate(folder)
    db = tmp_path / "app.db"
    with pytest.raises(MigrationSourceError):
        run_migrations(parse_url(f"sqlite:{db}"), folder)
    assert not db.exists()


# Running, reverting, showing


def test_run_info_and_revert_through_the_cli(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    source = ["--source", str(folder)]
    pending = invoke("migrate", "info", *source, f"sqlite:{db}")
    assert pending.exit_code == 0, pending.output
    assert "20240101000000/pending create users\n" in pending.output
    assert "note: dbmate folder: dbmate records only each applied version" in pending.output
    assert not db.exists()

    ran = invoke("migrate", "run", *source, f"sqlite:{db}")
    assert ran.exit_code == 0, ran.output
    assert ran.output.count("Applied ") == 3
    assert versions(db) == [
        "20240101000000:text",
        "20240102000000:text",
        "20240103000000:text",
    ]
    assert {"users", "posts", "tags", "schema_migrations"} <= tables(db)
    assert "_sqlx_migrations" not in tables(db)
    conn = sqlite3.connect(db)
    ddl = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'schema_migrations'").fetchone()
    conn.close()
    assert ddl == ('CREATE TABLE "schema_migrations" (version varchar(128) primary key)',)

    info = invoke("migrate", "info", "--json", *source, f"sqlite:{db}")
    assert '"status": "applied"' in info.output and '"pending"' not in info.output

    reverted = invoke("migrate", "revert", *source, f"sqlite:{db}")
    assert reverted.exit_code == 0, reverted.output
    assert "20240103000000/revert tags" in reverted.output
    assert "tags" not in tables(db)
    assert versions(db) == ["20240101000000:text", "20240102000000:text"]

    all_back = invoke("migrate", "revert", "--target-version", "0", *source, f"sqlite:{db}")
    assert all_back.exit_code == 0, all_back.output
    assert versions(db) == []
    assert tables(db) == {"schema_migrations"}


def test_source_format_sqlx_reads_the_same_folder_as_sqlx_s(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    ran = invoke(
        "migrate", "run", "--source-format", "sqlx", "--source", str(folder), f"sqlite:{db}"
    )
    assert ran.exit_code == 0, ran.output
    assert "_sqlx_migrations" in tables(db)
    assert "schema_migrations" not in tables(db)


def test_versions_keep_their_leading_zeros(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "m",
        {"001_a.sql": "-- migrate:up\ncreate table a (x);\n-- migrate:down\ndrop table a;\n"},
    )
    db = tmp_path / "app.db"
    run_migrations(parse_url(f"sqlite:{db}"), folder)
    assert versions(db) == ["001:text"]
    statuses = migration_status(parse_url(f"sqlite:{db}"), folder)
    assert [(s.version, s.status) for s in statuses] == [(1, "applied")]


def test_a_failing_transactional_file_leaves_nothing(folder: Path, tmp_path: Path) -> None:
    (folder / "20240104000000_broken.sql").write_text(
        "-- migrate:up\ncreate table kept (x);\ninsert into nowhere values (1);\n"
        "-- migrate:down\ndrop table kept;\n"
    )
    db = tmp_path / "app.db"
    url = parse_url(f"sqlite:{db}")
    with pytest.raises(MigrationFailedError, match="no such table: nowhere") as caught:
        run_migrations(url, folder)
    assert "rolled back" in caught.value.message
    assert "kept" not in tables(db)
    assert "20240104000000:text" not in versions(db)
    assert len(versions(db)) == 3  # the files before it stay applied, each on its own


def test_a_failing_transaction_false_file_keeps_what_ran(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "m",
        {
            "1_notx.sql": "-- migrate:up transaction:false\ncreate table kept (x);\n"
            "insert into nowhere values (1);\n-- migrate:down\ndrop table kept;\n"
        },
    )
    db = tmp_path / "app.db"
    with pytest.raises(MigrationFailedError, match="outside a transaction"):
        run_migrations(parse_url(f"sqlite:{db}"), folder)
    assert "kept" in tables(db)  # as dbmate leaves it
    assert versions(db) == []


def test_an_applied_version_without_its_file_is_refused(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    url = parse_url(f"sqlite:{db}")
    run_migrations(url, folder)
    (folder / "20240102000000_posts.sql").unlink()
    (folder / "20240109000000_more.sql").write_text(
        "-- migrate:up\ncreate table more (x);\n-- migrate:down\ndrop table more;\n"
    )
    with pytest.raises(MissingMigrationError, match="20240102000000 is applied"):
        run_migrations(url, folder)
    assert "more" not in tables(db)
    with pytest.raises(MissingMigrationError):
        revert_migrations(url, folder)
    statuses = migration_status(url, folder)
    assert [(s.version, s.status) for s in statuses][-1] == (20240102000000, "missing")
    applied = run_migrations(url, folder, ignore_missing=True)
    assert [r.version for r in applied] == [20240109000000]


def test_a_pending_file_older_than_an_applied_one_is_refused(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    url = parse_url(f"sqlite:{db}")
    run_migrations(url, folder)
    (folder / "20231231000000_late.sql").write_text(
        "-- migrate:up\ncreate table late (x);\n-- migrate:down\ndrop table late;\n"
    )
    with pytest.raises(DbInspectError, match=r"20231231000000_late\.sql is pending but older"):
        run_migrations(url, folder)
    assert "late" not in tables(db)
    # Reverting is not blocked by it: the latest applied file goes, as dbmate's rollback.
    assert [r.version for r in revert_migrations(url, folder)] == [20240103000000]


def test_a_version_no_file_name_can_have_is_refused(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    url = parse_url(f"sqlite:{db}")
    run_migrations(url, folder)
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_migrations VALUES ('v2')")
    conn.commit()
    conn.close()
    with pytest.raises(DbInspectError, match="holds the version 'v2'"):
        migration_status(url, folder)


def test_restamp_does_not_apply(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    assert invoke("migrate", "run", "--source", str(folder), f"sqlite:{db}").exit_code == 0
    result = invoke(
        "migrate", "restamp", "-y", "20240101000000", "--source", str(folder), f"sqlite:{db}"
    )
    assert result.exit_code == 1
    assert "keeps no checksum" in str(result.exception)
    assert "checksum " not in result.output  # refused before showing any


def test_the_app_s_engine_shows_the_dbmate_statuses(folder: Path, tmp_path: Path) -> None:
    """The Migrations pane reads statuses through `aio`: dbmate's come through as well."""
    db = tmp_path / "app.db"
    url = parse_url(f"sqlite:{db}")
    run_migrations(url, folder, target_version=20240102000000)
    statuses = asyncio.run(aio.migration_status(url, folder, SqlxSettings()))
    assert [(s.version, s.status) for s in statuses] == [
        (20240101000000, "applied"),
        (20240102000000, "applied"),
        (20240103000000, "pending"),
    ]
    assert statuses[0].migration is not None
    assert statuses[0].migration.down_sql == "-- migrate:down\ndrop table users;\n"


# The schema file


def test_trim_leading_sql_comments_as_dbmate() -> None:
    assert trim_leading_sql_comments("--\n-- x\n\nCREATE a;  \n\n-- keep\n") == (
        "CREATE a;\n\n-- keep\n"
    )
    assert trim_leading_sql_comments("") == ""


def test_schema_format_dbmate_on_sqlite(folder: Path, tmp_path: Path) -> None:
    if shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 shell is not installed (.ci/run installs it)")
    db = tmp_path / "app.db"
    run_migrations(parse_url(f"sqlite:{db}"), folder)
    result = invoke("schema", "--format", "dbmate", str(db))
    assert result.exit_code == 0, result.output
    assert result.output == (
        'CREATE TABLE IF NOT EXISTS "schema_migrations" (version varchar(128) primary key);\n'
        "CREATE TABLE users (id integer primary key, name text not null);\n"
        "CREATE INDEX users_name on users (name);\n"
        "CREATE TABLE posts (id integer primary key, user_id integer references users (id));\n"
        "CREATE TABLE tags (name text primary key);\n"
        "-- Dbmate schema migrations\n"
        'INSERT INTO "schema_migrations" (version) VALUES\n'
        "  ('20240101000000'),\n"
        "  ('20240102000000'),\n"
        "  ('20240103000000');\n"
    )


# Round trips against dbmate itself


def test_dbmate_then_dbinspect_and_the_reverse_end_identical(folder: Path, tmp_path: Path) -> None:
    require_dbmate()
    first_two = write_folder(tmp_path / "first", {k: FILES[k] for k in list(FILES)[:2]})
    a, b, ref = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "ref.db"
    # a: dbmate applies the first two files, then dbinspect the rest.
    run_dbmate(f"sqlite:{a}", first_two, "up")
    assert [r.version for r in run_migrations(parse_url(f"sqlite:{a}"), folder)] == [20240103000000]
    # b: dbinspect applies the first two, then dbmate the rest.
    run_migrations(parse_url(f"sqlite:{b}"), first_two)
    assert "Applying: 20240103000000_tags.sql" in run_dbmate(f"sqlite:{b}", folder, "up")
    run_dbmate(f"sqlite:{ref}", folder, "up")
    assert dump(a) == dump(b) == dump(ref)
    assert versions(a) == versions(b) == versions(ref)
    # Reverting: dbinspect on a, dbmate's rollback on b.
    revert_migrations(parse_url(f"sqlite:{a}"), folder)
    run_dbmate(f"sqlite:{b}", folder, "rollback")
    assert dump(a) == dump(b)
    assert "tags" not in tables(a)


def test_schema_format_dbmate_is_dbmate_s_own_dump(folder: Path, tmp_path: Path) -> None:
    require_dbmate()
    db = tmp_path / "app.db"
    run_migrations(parse_url(f"sqlite:{db}"), folder)
    theirs = tmp_path / "schema.sql"
    run_dbmate(f"sqlite:{db}", folder, "dump", schema_file=theirs)
    result = invoke("schema", "--format", "dbmate", str(db))
    assert result.exit_code == 0, result.output
    assert result.output == theirs.read_text()


def test_check_replays_a_dbmate_folder_for_drift(folder: Path, tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    run_migrations(parse_url(f"sqlite:{db}"), folder)
    clean = invoke("check", "--source", str(folder), str(db))
    assert clean.exit_code == 0, clean.output
    assert "drift: none" in clean.output
    assert "note: dbmate folder" in clean.output
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE extra (x)")
    conn.execute("DROP INDEX users_name")
    conn.commit()
    conn.close()
    drifted = invoke("check", "--source", str(folder), str(db))
    assert drifted.exit_code == 1
    assert "drift: 2 object(s)" in drifted.output
    assert "  added table extra (not in the migrations)" in drifted.output
    assert "  missing index users_name (not in the database)" in drifted.output
