"""Tests dbmate folders on PostgreSQL: run, revert, info, atomicity, the schema file, and
round trips against dbmate itself (see dbmate_kit)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbmate_kit import require_dbmate, run_dbmate
from pg_migrate_helpers import run_cli, tables, write_folder
from pgkit import fresh_database, query

from dbinspect.errors import MigrationFailedError
from dbinspect.migrate.runner import migration_status, revert_migrations, run_migrations
from dbinspect.url import parse_url

FILES = {
    "20240101000000_create_users.sql": (
        "-- migrate:up\n"
        "create table users (id serial primary key, name text not null);\n"
        "create index users_name on users (name);\n"
        "\n"
        "-- migrate:down\n"
        "drop table users;\n"
    ),
    "20240102000000_colors.sql": (
        "-- migrate:up transaction:false\n"
        "create type color as enum ('red');\n"
        "alter type color add value 'blue';\n"
        "\n"
        "-- migrate:down\n"
        "drop type color;\n"
    ),
    "20240103000000_tags.sql": (
        "-- migrate:up\n"
        "create table tags (name text primary key, shade color);\n"
        "insert into tags values ('a', 'blue');\n"
        "-- migrate:down\n"
        "drop table tags;\n"
    ),
}


def versions(url: str) -> list[object]:
    return [r[0] for r in query(url, "SELECT version FROM schema_migrations ORDER BY version")]


def schema_of(url: str) -> list[tuple[object, ...]]:
    """Every column of the public schema and every index, with its definition."""
    columns = query(
        url,
        "SELECT table_name, column_name, data_type, column_default, is_nullable "
        "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
    )
    indexes = query(
        url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
    )
    enums = query(url, "SELECT enumlabel FROM pg_enum ORDER BY enumtypid, enumsortorder")
    return [*columns, *indexes, *enums]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "db" / "migrations", dict(FILES))


def test_run_info_revert_through_the_cli(pg_url: str, folder: Path, tmp_path: Path) -> None:
    source = ["--source", str(folder)]
    ran = run_cli("migrate", "run", *source, pg_url, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.count("Applied ") == 3
    assert versions(pg_url) == ["20240101000000", "20240102000000", "20240103000000"]
    ddl = query(
        pg_url,
        "SELECT data_type, is_nullable FROM information_schema.columns "
        "WHERE table_name = 'schema_migrations'",
    )
    assert ddl == [("character varying", "NO")]
    assert "_sqlx_migrations" not in tables(pg_url)
    info = run_cli("migrate", "info", *source, pg_url, cwd=tmp_path)
    assert info.stdout.endswith("20240103000000/installed tags\n")
    assert "note: dbmate folder" in info.stderr
    reverted = run_cli("migrate", "revert", *source, pg_url, cwd=tmp_path)
    assert reverted.returncode == 0, reverted.stderr
    assert "tags" not in tables(pg_url)
    assert versions(pg_url) == ["20240101000000", "20240102000000"]


def test_a_failing_transactional_file_leaves_nothing(pg_url: str, folder: Path) -> None:
    (folder / "20240104000000_broken.sql").write_text(
        "-- migrate:up\ncreate table kept (x int);\ninsert into nowhere values (1);\n"
        "-- migrate:down\ndrop table kept;\n"
    )
    url = parse_url(pg_url)
    with pytest.raises(MigrationFailedError, match="nowhere") as caught:
        run_migrations(url, folder)
    assert "rolled back" in caught.value.message
    assert "kept" not in tables(pg_url)
    assert len(versions(pg_url)) == 3
    statuses = migration_status(url, folder)
    assert [s.status for s in statuses] == ["applied", "applied", "applied", "pending"]


def test_dbmate_then_dbinspect_and_the_reverse_end_identical(folder: Path, tmp_path: Path) -> None:
    require_dbmate()
    first_two = write_folder(tmp_path / "first", {k: FILES[k] for k in list(FILES)[:2]})
    with fresh_database() as a, fresh_database() as b, fresh_database() as ref:
        run_dbmate(a, first_two, "up")
        applied = run_migrations(parse_url(a), folder)
        assert [r.version for r in applied] == [20240103000000]
        run_migrations(parse_url(b), first_two)
        assert "Applying: 20240103000000_tags.sql" in run_dbmate(b, folder, "up")
        run_dbmate(ref, folder, "up")
        assert versions(a) == versions(b) == versions(ref)
        assert schema_of(a) == schema_of(b) == schema_of(ref)
        revert_migrations(parse_url(a), folder)
        run_dbmate(b, folder, "rollback")
        assert versions(a) == versions(b) == ["20240101000000", "20240102000000"]
        assert schema_of(a) == schema_of(b)

        theirs = tmp_path / "schema.sql"
        run_dbmate(a, folder, "dump", schema_file=theirs)
        ours = run_cli("schema", "--format", "dbmate", a, cwd=tmp_path)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout == theirs.read_text()
        assert ours.stdout.endswith(
            "-- Dbmate schema migrations\n--\n\n"
            "INSERT INTO public.schema_migrations (version) VALUES\n"
            "    ('20240101000000'),\n    ('20240102000000');\n"
        )


def test_a_failing_transaction_false_section_is_one_implicit_transaction(
    pg_url: str, tmp_path: Path
) -> None:
    """lib/pq sends the section as one simple query: the server rolls all of it back."""
    folder = write_folder(
        tmp_path / "m",
        {
            "1_notx.sql": "-- migrate:up transaction:false\ncreate table kept (x int);\n"
            "insert into nowhere values (1);\n-- migrate:down\ndrop table kept;\n"
        },
    )
    with pytest.raises(MigrationFailedError, match="one implicit transaction, rolled back"):
        run_migrations(parse_url(pg_url), folder)
    assert "kept" not in tables(pg_url)
    assert versions(pg_url) == []
