"""What a database's own settings cannot do to dbinspect's sessions on PostgreSQL.

Its owner may set its `search_path` so that objects of theirs stand in for the catalog's,
and its `DateStyle` or `extra_float_digits` so that values read as text change meaning.
Inspection runs none of their code, and exports and backups stay exact; a migration still
runs in the database's own settings, as under sqlx. Each test in a database of its own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgkit import SERVER_URL, fresh_database, query, run_sql
from testkit import RunCli

from dbinspect import pg_driver
from dbinspect.url import parse_url

# Every function of `evil` fails loudly: a command that calls one cannot succeed.
HOSTILE_PATH = """
CREATE TYPE mood AS ENUM ('calm', 'cross');
CREATE TABLE t (id int PRIMARY KEY, m mood, label varchar(20));
INSERT INTO t VALUES (1, 'calm', 'one'), (2, 'cross', 'two');
CREATE VIEW v AS SELECT id, m FROM t;
CREATE SCHEMA evil;
CREATE FUNCTION evil.trap() RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'the database''s own code ran'; END $$;
CREATE VIEW evil.pg_namespace AS SELECT * FROM pg_catalog.pg_namespace WHERE evil.trap();
CREATE VIEW evil.pg_class AS SELECT * FROM pg_catalog.pg_class WHERE evil.trap();
"""
# A function with other argument types than the catalog's may be the better match for a
# call (`lower(varchar)` beside `lower(text)`): the session then searches the catalog alone.
OVERLOADS = """
CREATE FUNCTION evil.lower(varchar) RETURNS text LANGUAGE plpgsql
    AS $$ BEGIN PERFORM evil.trap(); RETURN ''; END $$;
CREATE FUNCTION evil.eq(name, varchar) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN RETURN evil.trap(); END $$;
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = varchar, FUNCTION = evil.eq);
"""


def overloads(role: str) -> str:
    """`OVERLOADS`, owned by `role`: a superuser's functions are trusted (an extension's)."""
    owned = (
        'ALTER FUNCTION evil.lower(varchar) OWNER TO "{0}";'
        'ALTER FUNCTION evil.eq(name, varchar) OWNER TO "{0}";'
        'ALTER OPERATOR evil.= (name, varchar) OWNER TO "{0}";'
    )
    return OVERLOADS + owned.format(role)


@pytest.fixture(scope="module")
def plain_role() -> Iterator[str]:
    """A role that is no superuser, dropped after the module's tests (and databases)."""
    name = f"dbi_plain_{uuid.uuid4().hex[:8]}"
    run_sql(SERVER_URL, f'CREATE ROLE "{name}" LOGIN')
    yield name
    run_sql(SERVER_URL, f'DROP ROLE IF EXISTS "{name}"')


URL = "{url}"
COMMANDS: list[tuple[str, ...]] = [
    ("info", URL),
    ("schema", URL, "--format", "json"),
    ("check", URL),
    ("migrate", "run", URL),
    ("migrate", "info", URL),
    ("export", URL, "t", "--format", "jsonl"),
    ("export", URL, "v", "--format", "jsonl"),
    ("query", URL, "select id, m from t order by id"),
]


def run_each(run_cli: RunCli, url: str, folder: Path) -> None:
    """Every command of `COMMANDS` on `url` succeeds, and calls none of `evil`; the
    migrations come from `folder`'s `migrations`."""
    (folder / "migrations").mkdir()
    (folder / "migrations" / "1_note.sql").write_text("CREATE TABLE note (body text);\n")
    for command in COMMANDS:
        done = run_cli(*(url if part == URL else part for part in command))
        if command[0] == "check":  # it finds the objects no migration made: drift
            assert done.returncode == 1 and "drift: " in done.stdout, done.stderr
            continue
        assert done.returncode == 0, (command, done.stderr)
        assert "own code ran" not in done.stderr, command


def _hostile(url: str, *scripts: str) -> None:
    run_sql(url, "".join(scripts))
    name = url.rsplit("/", 1)[1]
    run_sql(url, f'ALTER DATABASE "{name}" SET search_path = evil, pg_catalog, public')


def test_a_search_path_hiding_the_catalog_runs_none_of_the_databases_code(
    run_cli: RunCli, tmp_path: Path
) -> None:
    with fresh_database() as url:
        _hostile(url, HOSTILE_PATH)
        run_each(run_cli, url, tmp_path)
        info = run_cli("info", url).stdout
        # The path shown is the database's; the catalog is searched first all the same.
        assert "evil, pg_catalog, public (finds: evil, pg_catalog, public)" in info
        schema = json.loads(run_cli("schema", url, "--format", "json").stdout)
        table = next(o for o in schema["tables"] if o["name"] == "t")
        types = {c["name"]: c["type"] for c in table["columns"]}
        assert types["m"] == "mood"  # named as psql names it: the schema is on the path
        exported = run_cli("export", url, "t", "--format", "jsonl").stdout.splitlines()
        assert [json.loads(line) for line in exported] == [
            {"id": 1, "m": "calm", "label": "one"},
            {"id": 2, "m": "cross", "label": "two"},
        ]


def test_overloads_of_catalog_names_leave_the_session_on_the_catalog_alone(
    run_cli: RunCli, tmp_path: Path, plain_role: str
) -> None:
    with fresh_database() as url:
        _hostile(url, HOSTILE_PATH, overloads(plain_role))
        run_each(run_cli, url, tmp_path)
        backup = tmp_path / "hostile.json"
        done = run_cli("backup", url, "--format", "json", "-o", str(backup))
        assert done.returncode == 0, done.stderr
        schema = json.loads(run_cli("schema", url, "--format", "json").stdout)
        table = next(o for o in schema["tables"] if o["name"] == "t")
        types = {c["name"]: c["type"] for c in table["columns"]}
        assert types["m"] == "public.mood"  # the catalog alone: every name with its schema
        info = run_cli("info", url).stdout
        assert "evil, pg_catalog, public" in info


async def guarded(url: str) -> tuple[str, pg_driver.SessionPath | None]:
    """The search path a guarded session on `url` searches, and the path it replaced."""
    conn = await pg_driver.connect_async(parse_url(url), path="guarded")
    try:
        cur = await conn.execute("SELECT current_setting('search_path')")
        row = await cur.fetchone()
        assert row is not None
        return str(row[0]), pg_driver.session_path(conn)
    finally:
        await conn.close()


async def test_the_guard_keeps_the_databases_path_after_the_catalog(plain_role: str) -> None:
    with fresh_database() as url:
        _hostile(url, HOSTILE_PATH)
        searched, found = await guarded(url)
        assert searched == "pg_catalog, evil, public, pg_temp"
        assert found is not None and not found.pinned
        assert found.schemas == ("evil", "pg_catalog", "public")
        run_sql(url, OVERLOADS)  # a superuser's, as an extension's: trusted
        assert (await guarded(url))[0] == "pg_catalog, evil, public, pg_temp"
        run_sql(url, overloads(plain_role).removeprefix(OVERLOADS))
        searched, found = await guarded(url)
        assert searched == pg_driver.PINNED_PATH
        assert found is not None and found.pinned


FORMATS = """
CREATE TABLE dt (id int PRIMARY KEY, d date, ts timestamptz, span interval, f float8);
INSERT INTO dt VALUES (1, '2024-02-03', '2024-02-03 04:05:06+00', '1 day 02:03:04',
                       0.1::float8 + 0.2::float8);
"""


def _odd_formats(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    run_sql(
        url,
        f"""ALTER DATABASE "{name}" SET DateStyle = 'SQL, DMY';
        ALTER DATABASE "{name}" SET IntervalStyle = 'sql_standard';
        ALTER DATABASE "{name}" SET extra_float_digits = -3;""",
    )


def test_exports_and_backups_are_exact_whatever_the_databases_formats(
    run_cli: RunCli, tmp_path: Path
) -> None:
    with fresh_database() as source, fresh_database() as target:
        run_sql(source, FORMATS)
        _odd_formats(source)
        _odd_formats(target)
        exported = run_cli("export", source, "dt", "--format", "sql").stdout
        assert "'2024-02-03'" in exported and "0.30000000000000004" in exported
        assert "'1 day 02:03:04'" in exported
        backup = tmp_path / "dt.json"
        done = run_cli("backup", source, "--format", "json", "-o", str(backup))
        assert done.returncode == 0, done.stderr
        done = run_cli("restore", str(backup), target)
        assert done.returncode == 0, done.stderr
        compare = (
            "SELECT to_char(d, 'YYYY-MM-DD'), to_char(ts AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD HH24:MI:SS'), extract(epoch FROM span), f = 0.1::float8 + 0.2::float8 "
            "FROM dt"
        )
        assert query(target, compare) == query(source, compare)
        assert query(target, compare)[0][3] is True


def test_a_migration_runs_in_the_databases_own_formats(run_cli: RunCli, tmp_path: Path) -> None:
    with fresh_database() as url:
        _odd_formats(url)
        folder = tmp_path / "migrations"
        folder.mkdir()
        (folder / "1_day.sql").write_text(
            "CREATE TABLE day (d date); INSERT INTO day VALUES ('03/02/2024');\n"
        )
        done = run_cli("migrate", "run", url, "--source", str(folder))
        assert done.returncode == 0, done.stderr
        # Day first, as the database says (and as sqlx would have read it).
        assert query(url, "SELECT to_char(d, 'YYYY-MM-DD') FROM day") == [("2024-02-03",)]


async def test_an_owners_function_added_to_an_extension_is_no_extensions(
    plain_role: str,
) -> None:
    # A trusted extension's own functions belong to a superuser, whoever installed it;
    # one the database's owner wrote and then added to it is still the owner's.
    with fresh_database() as url:
        name = url.rsplit("/", 1)[1]
        run_sql(url, f'ALTER DATABASE "{name}" OWNER TO "{plain_role}";'
                     f'GRANT CREATE ON SCHEMA public TO "{plain_role}"')  # fmt: skip
        as_owner = url.replace("postgres@", f"{plain_role}@", 1)
        run_sql(as_owner, "CREATE EXTENSION citext")
        searched, found = await guarded(url)
        assert found is not None and not found.pinned  # citext's `lower` is trusted
        assert searched.startswith("pg_catalog, ")
        run_sql(
            as_owner,
            "CREATE FUNCTION public.format(f text, a text) RETURNS text LANGUAGE sql"
            " AS 'SELECT f'; ALTER EXTENSION citext ADD FUNCTION public.format(text, text)",
        )
        assert (await guarded(url))[0] == pg_driver.PINNED_PATH


CAST_TRAP = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE FUNCTION mood_words(m mood) RETURNS text LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'the database''s own code ran'; END $$;
CREATE CAST (mood AS text) WITH FUNCTION mood_words(mood);
CREATE TABLE diary (id int PRIMARY KEY, m mood, ms mood[]);
INSERT INTO diary VALUES (1, 'ok', '{sad,ok}'), (2, 'happy', NULL), (3, NULL, '{}');
CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text,
                               installed_on mood, success boolean);
INSERT INTO _sqlx_migrations VALUES (1, 'x', 'happy', true);
"""


async def test_a_cast_of_the_databases_own_to_text_is_never_run(
    run_cli: RunCli, tmp_path: Path
) -> None:
    # `::text` would run the type owner's cast: values are read through their output
    # function, in the Data pane, exports, backups and `info` alike.
    from dbinspect.backends.postgres import PostgresBackend
    from dbinspect.browse.protocol import Relation
    from dbinspect.models import Filter, RowQuery

    with fresh_database() as url:
        run_sql(url, CAST_TRAP)
        info = run_cli("info", url)
        assert info.returncode == 0, info.stderr
        assert "installed happy" in info.stdout
        exported = run_cli("export", url, "diary", "--format", "jsonl")
        assert exported.returncode == 0, exported.stderr
        assert [json.loads(line) for line in exported.stdout.splitlines()] == [
            {"id": 1, "m": "ok", "ms": "{sad,ok}"},
            {"id": 2, "m": "happy", "ms": None},
            {"id": 3, "m": None, "ms": "{}"},
        ]
        done = run_cli("backup", url, "--format", "json", "-o", str(tmp_path / "b.json"))
        assert done.returncode == 0, done.stderr
        backend = await PostgresBackend.open(parse_url(url))
        try:
            query = RowQuery(filters=(Filter("ms", "like", "%ok%", False),), sort_column="m")
            page = await backend.fetch_page(Relation("public", "diary"), query, cell_limit=50)
            assert [row[:2] for row in page.rows] == [(1, "ok")]
        finally:
            await backend.aclose()
