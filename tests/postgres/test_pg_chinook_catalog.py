"""`info` and `schema` on the Chinook corpus, checked against what psql reports."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from pgkit import fresh_database, load_chinook, run_sql
from testkit import RunCli

from dbinspect.backends import open_backend
from dbinspect.ops.pg_dump import find_pg_dump, keyed_by_content
from dbinspect.url import parse_url

CHINOOK_TABLES = [
    "album",
    "artist",
    "customer",
    "employee",
    "genre",
    "invoice",
    "invoice_line",
    "media_type",
    "playlist",
    "playlist_track",
    "track",
]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with fresh_database("dbi_chinook") as created:
        load_chinook(created)
        # Vacuumed now, so that autovacuum adds no free-space map between two size reads.
        run_sql(created, "VACUUM ANALYZE")
        yield created


def psql(url: str, sql: str) -> list[list[str]]:
    """Rows as psql prints them unaligned (`|` between fields)."""
    done = subprocess.run(
        ["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line.split("|") for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def dumped(url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from testkit import clean_env

    done = subprocess.run(
        [sys.executable, "-m", "dbinspect", "schema", "--format", "json", url],
        capture_output=True,
        env=clean_env(),
        cwd=tmp_path_factory.mktemp("cwd"),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def _type_from_information_schema(row: list[str]) -> str:
    """information_schema's parts written as format_type writes the whole."""
    data_type, length, precision, scale = row
    if length:
        return f"{data_type}({length})"
    if data_type == "numeric" and precision:
        return f"numeric({precision},{scale})"
    return data_type


def test_tables_and_column_types_are_the_catalogs(url: str, dumped: dict[str, Any]) -> None:
    tables = {t["name"]: t for t in dumped["tables"]}
    listed = psql(url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    assert sorted(tables) == [row[0] for row in listed] == CHINOOK_TABLES
    rows = psql(
        url,
        "SELECT table_name, column_name, data_type, character_maximum_length,"
        " numeric_precision, numeric_scale, is_nullable FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    expected = [(r[0], r[1], _type_from_information_schema(r[2:6]), r[6] == "NO") for r in rows]
    got = [
        (name, c["name"], c["type"], c["not_null"])
        for name in sorted(tables)
        for c in tables[name]["columns"]
    ]
    assert got == expected
    assert len(got) == 64


def test_keys_and_indexes_are_the_catalogs(url: str, dumped: dict[str, Any]) -> None:
    tables = {t["name"]: t for t in dumped["tables"]}
    primary = psql(
        url,
        "SELECT k.table_name, k.column_name, k.ordinal_position"
        " FROM information_schema.table_constraints c"
        " JOIN information_schema.key_column_usage k USING (constraint_schema, constraint_name)"
        " WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = 'public'",
    )
    assert {(t, c, int(p)) for t, c, p in primary} == {
        (name, col["name"], col["primary_key"])
        for name, table in tables.items()
        for col in table["columns"]
        if col["primary_key"]
    }
    declared = Counter(
        row[0]
        for row in psql(
            url,
            "SELECT conrelid::regclass FROM pg_constraint WHERE contype = 'f'",
        )
    )
    referenced = Counter(
        row[0]
        for row in psql(url, "SELECT confrelid::regclass FROM pg_constraint WHERE contype = 'f'")
    )
    assert sum(declared.values()) == 11
    for name, table in tables.items():
        assert len(table["foreign_keys"]) == declared[name], name
        assert len(table["referenced_by"]) == referenced[name], name
    indexes = psql(
        url,
        "SELECT indexname, tablename, indexdef, pg_relation_size(format('%I', indexname))"
        " FROM pg_indexes WHERE schemaname = 'public'",
    )
    assert sorted(
        (i["name"], i["table"], i["definition"], i["size"]) for i in dumped["indexes"]
    ) == (sorted((n, t, d, int(size)) for n, t, d, size in indexes))
    assert all(i["valid"] for i in dumped["indexes"])


def test_info_reports_the_server_and_the_counts(url: str, run_cli: RunCli) -> None:
    done = run_cli("info", "--json", url)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    ((version_num, user, database, search_path, size, indexes, sequences),) = psql(
        url,
        "SELECT current_setting('server_version_num'), current_user, current_database(),"
        " current_setting('search_path'), pg_database_size(current_database()),"
        " (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'),"
        " (SELECT count(*) FROM pg_sequences WHERE schemaname = 'public')",
    )
    assert facts["backend"] == "postgres" and facts["url"] == url
    assert facts["server_version_num"] == int(version_num)
    assert (facts["user"], facts["database"]) == (user, database)
    assert facts["search_path"] == search_path and facts["schemas_searched"] == ["public"]
    assert facts["ssl"] is False and facts["in_recovery"] is False
    assert facts["read_only"] is True and facts["read_only_state"] == "read-write"
    assert facts["latest_migration"] is None
    # the server may add a free-space map meanwhile: the same size within a few pages
    assert abs(facts["size_bytes"] - int(size)) < 256 * 1024
    assert (facts["tables"], facts["views"], facts["schemas"]) == (11, 0, 1)
    assert (facts["indexes"], facts["sequences"]) == (int(indexes), int(sequences))
    text = run_cli("info", url)
    assert text.returncode == 0, text.stderr
    lines = dict(line.split(":", 1) for line in text.stdout.splitlines())
    assert lines["Database"].strip() == database and lines["User"].strip() == user
    assert lines["Tables"].strip() == "11"
    assert lines["PostgreSQL version"].strip().startswith(version_num[:2])


async def test_table_sizes_are_total_relation_sizes(url: str) -> None:
    backend = await open_backend(parse_url(url))
    try:
        sizes = await backend.table_sizes()
    finally:
        await backend.aclose()
    expected = psql(
        url,
        "SELECT 'public.' || tablename, pg_total_relation_size(format('%I', tablename))"
        " FROM pg_tables WHERE schemaname = 'public'",
    )
    assert sizes == {name: int(size) for name, size in expected}


def test_schema_sql_is_pg_dumps_and_the_same_each_time(url: str, run_cli: RunCli) -> None:
    first = run_cli("schema", "--format", "sql", url)
    assert first.returncode == 0, first.stderr
    assert "CREATE TABLE public.album (" in first.stdout
    assert "ALTER TABLE ONLY public.track" in first.stdout
    assert "INSERT INTO" not in first.stdout  # the schema only
    assert run_cli("schema", "--format", "sql", url).stdout == first.stdout
    direct = subprocess.run(
        [find_pg_dump(), "--schema-only", "-d", url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert first.stdout == keyed_by_content(direct.stdout)
