"""`dbinspect restore` into PostgreSQL: Chinook round trips in each format, refusals, a
damaged backup, the snapshot kept, sessions on the target."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pgkit import SERVER_URL, fresh_database, load_chinook, query, run_sql
from testkit import MakeDb, RunCli

TABLES = ("album", "artist", "customer", "employee", "genre", "invoice", "invoice_line",
          "media_type", "playlist", "playlist_track", "track")  # fmt: skip
CHECKSUMMED = ("track", "invoice", "customer", "playlist_track")
OLD = "CREATE TABLE old_data (x int PRIMARY KEY); INSERT INTO old_data VALUES (1), (2), (3);"
FORMATS = ("sql", "custom", "json")


def database_names(prefix: str) -> list[str]:
    rows = query(SERVER_URL, "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                 (prefix,))  # fmt: skip
    return sorted(str(row[0]) for row in rows)


def name_of(url: str) -> str:
    return url.rpartition("/")[2]


@pytest.fixture
def target(pg_url: str) -> Iterator[str]:
    """A database holding `old_data`; every database named after it (the snapshots, any
    database a restore left behind) is dropped afterwards, as the database itself is."""
    run_sql(pg_url, OLD)
    yield pg_url
    for name in database_names(name_of(pg_url) + "_"):
        run_sql(SERVER_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def chinook() -> Iterator[str]:
    """One Chinook database for the module's backups (read only)."""
    with fresh_database("dbi_chinook") as url:
        load_chinook(url)
        yield url


@pytest.fixture(scope="module")
def chinook_backups(chinook: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("backups")
    made: dict[str, Path] = {}
    for fmt in FORMATS:
        made[fmt] = folder / f"chinook-{fmt}.bin"  # the format is read from the content
        command = [sys.executable, "-m", "dbinspect", "backup", chinook, "--format", fmt]
        done = subprocess.run(
            [*command, "-o", made[fmt]], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
    return made


def fingerprint(url: str) -> dict[str, object]:
    """Row counts of every table, a checksum of some, and the constraints and indexes."""
    found: dict[str, object] = {t: query(url, f'SELECT count(*) FROM "{t}"')[0][0] for t in TABLES}
    for table in CHECKSUMMED:
        found[f"md5 {table}"] = query(
            url, f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{table}\" t"
        )[0][0]
    found["constraints"] = query(
        url,
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    )
    found["indexes"] = query(
        url, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
    )
    return found


@pytest.mark.parametrize("fmt", FORMATS)
def test_chinook_round_trip_keeps_the_old_database_as_a_snapshot(
    target: str, chinook: str, chinook_backups: dict[str, Path], run_cli: RunCli, fmt: str
) -> None:
    result = run_cli("restore", chinook_backups[fmt], target, "--force", timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"from the {fmt} backup" in result.stderr
    assert fingerprint(target) == fingerprint(chinook)
    assert query(target, "SELECT to_regclass('old_data')") == [(None,)]
    [snapshot] = database_names(name_of(target) + "_before_restore_")
    assert f"the database {snapshot}" in result.stderr
    snapshot_url = SERVER_URL.rpartition("/")[0] + "/" + snapshot
    assert query(snapshot_url, "SELECT x FROM old_data ORDER BY x") == [(1,), (2,), (3,)]
    assert query(snapshot_url, "SELECT to_regclass('track')") == [(None,)]
    assert database_names(name_of(target) + "_restoring_") == []


def test_restore_into_a_new_database_needs_no_force_and_keeps_no_snapshot(
    pg_url: str, chinook: str, chinook_backups: dict[str, Path], run_cli: RunCli
) -> None:
    new = pg_url + "_new"
    try:
        result = run_cli("restore", chinook_backups["custom"], new, timeout=120)
        assert result.returncode == 0, result.stderr
        # A mistyped name makes a new database: the restore says so.
        assert f"There was no database {name_of(new)} on the server: the restore created it" in (
            result.stderr
        )
        assert query(new, "SELECT count(*) FROM track") == query(
            chinook, "SELECT count(*) FROM track"
        )
        assert database_names(name_of(new) + "_") == []
    finally:
        run_sql(SERVER_URL, f'DROP DATABASE IF EXISTS "{name_of(new)}" WITH (FORCE)')


def test_restore_refuses_a_database_holding_data_without_force(
    target: str, chinook_backups: dict[str, Path], run_cli: RunCli,
    one_line_error: Callable[..., str],
) -> None:  # fmt: skip
    result = run_cli("restore", chinook_backups["json"], target)
    one_line_error(result, "holds 1 table", "--force")
    assert query(target, "SELECT count(*) FROM old_data") == [(3,)]
    assert database_names(name_of(target) + "_") == []


def damage(backup: Path, fmt: str, tmp_path: Path) -> Path:
    data = backup.read_bytes()
    damaged = tmp_path / f"damaged-{fmt}.bin"
    damaged.write_bytes(data[: len(data) * 2 // 3])  # cut short
    return damaged


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_truncated_backup_leaves_the_live_database_untouched(
    target: str, chinook_backups: dict[str, Path], run_cli: RunCli, tmp_path: Path, fmt: str,
    one_line_error: Callable[..., str],
) -> None:  # fmt: skip
    damaged = damage(chinook_backups[fmt], fmt, tmp_path)
    result = run_cli("restore", damaged, target, "--force", timeout=120)
    one_line_error(result, str(damaged))
    assert query(target, "SELECT x FROM old_data ORDER BY x") == [(1,), (2,), (3,)]
    assert database_names(name_of(target) + "_") == []  # no snapshot, no half-loaded copy


def test_a_dump_failing_part_way_leaves_no_database_behind(
    target: str, chinook_backups: dict[str, Path], run_cli: RunCli, tmp_path: Path,
    one_line_error: Callable[..., str],
) -> None:  # fmt: skip
    text = chinook_backups["sql"].read_text()
    broken = tmp_path / "broken.sql"
    position = text.index("ALTER TABLE ONLY")  # after the rows, before the keys
    broken.write_text(text[:position] + "SELECT no_such_function();\n" + text[position:])
    result = run_cli("restore", broken, target, "--force", timeout=120)
    one_line_error(result, str(broken), "no_such_function")
    assert query(target, "SELECT count(*) FROM old_data") == [(3,)]
    assert database_names(name_of(target) + "_") == []


def test_a_dump_cannot_run_psql_backslash_commands(
    target: str, run_cli: RunCli, tmp_path: Path, one_line_error: Callable[..., str]
) -> None:
    witness = tmp_path / "witness"
    hostile = tmp_path / "hostile.sql"
    hostile.write_text(f"CREATE TABLE t (a int);\n\\! touch {witness}\n")
    result = run_cli("restore", hostile, target, "--force")
    one_line_error(result, "backslash commands are restricted")
    assert not witness.exists()
    assert query(target, "SELECT count(*) FROM old_data") == [(3,)]
    assert database_names(name_of(target) + "_") == []


def test_sessions_on_the_target_are_refused_and_counted(
    target: str, chinook_backups: dict[str, Path], run_cli: RunCli,
    one_line_error: Callable[..., str],
) -> None:  # fmt: skip
    with psycopg.connect(target) as first, psycopg.connect(target) as second:
        for conn in (first, second):
            conn.execute("SELECT 1")
        result = run_cli("restore", chinook_backups["custom"], target, "--force")
    one_line_error(result, "2 other sessions are connected", name_of(target))
    assert query(target, "SELECT count(*) FROM old_data") == [(3,)]
    assert database_names(name_of(target) + "_") == []


def test_backups_of_the_other_kind_of_database_are_refused(
    target: str, chinook_backups: dict[str, Path], run_cli: RunCli, tmp_path: Path,
    make_db: MakeDb, one_line_error: Callable[..., str],
) -> None:  # fmt: skip
    source = make_db(tmp_path, "CREATE TABLE t (a); INSERT INTO t VALUES (1);")
    for fmt in ("sqlite", "sql", "json"):
        backup = tmp_path / f"lite.{fmt}"
        done = run_cli("backup", source, "--format", fmt, "-o", backup)
        assert done.returncode == 0, done.stderr
        result = run_cli("restore", backup, target, "--force")
        one_line_error(result, "backup of a SQLite database", "SQLite only")
    for fmt in ("sql", "json"):
        result = run_cli("restore", chinook_backups[fmt], tmp_path / "new.db")
        one_line_error(result, "backup of a PostgreSQL database", "PostgreSQL only")
    assert not (tmp_path / "new.db").exists()
    assert database_names(name_of(target) + "_") == []


RICH = """
CREATE SCHEMA "we""ird";
COMMENT ON SCHEMA "we""ird" IS 'odd';
CREATE TYPE "we""ird".mood AS ENUM ('sad', 'it''s ok');
CREATE DOMAIN posint AS int CHECK (VALUE > 0) NOT NULL DEFAULT 1;
CREATE TYPE "we""ird".addr AS (street text, "no." int, feeling "we""ird".mood);
CREATE TABLE places (id int PRIMARY KEY, at "we""ird".addr);
INSERT INTO places VALUES (1, ROW('Main St', 5, 'sad')), (2, NULL);
CREATE TABLE "we""ird"."a b" (
    "c'd" text PRIMARY KEY, n posint, m "we""ird".mood, b bytea, ts timestamptz,
    g int GENERATED ALWAYS AS (length("c'd")) STORED, i int GENERATED ALWAYS AS IDENTITY);
COMMENT ON COLUMN "we""ird"."a b"."c'd" IS 'the key';
INSERT INTO "we""ird"."a b" ("c'd", n, m, b, ts)
VALUES (E'x\\ty', 1, 'it''s ok', '\\x00ff', '2020-01-01 00:00+00'),
       ('nul?', 2, NULL, NULL, 'infinity');
CREATE TABLE p (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE p_eu PARTITION OF p FOR VALUES IN ('eu');
CREATE TABLE p_us PARTITION OF p FOR VALUES IN ('us');
CREATE TABLE child (id serial PRIMARY KEY, pid int, region text,
                    FOREIGN KEY (pid, region) REFERENCES p ON DELETE CASCADE);
INSERT INTO p VALUES (1, 'eu'), (2, 'us');
INSERT INTO child (pid, region) VALUES (1, 'eu'), (2, 'us');
CREATE VIEW v1 AS SELECT * FROM p;
CREATE VIEW v0 AS SELECT count(*) FROM v1;
CREATE MATERIALIZED VIEW mv AS SELECT region, count(*) FROM p GROUP BY region;
CREATE UNIQUE INDEX mv_region ON mv (region);
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN NEW.id := NEW.id + 1000; RETURN NEW; END $$;
CREATE TRIGGER t_bump BEFORE INSERT ON child FOR EACH ROW EXECUTE FUNCTION bump();
ALTER TABLE child DISABLE TRIGGER t_bump;
CREATE FUNCTION total() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM v0; END;
"""


def schema_sql(url: str) -> str:
    done = subprocess.run(
        ["pg_dump", "--schema-only", "-d", url], capture_output=True, text=True, check=True
    )
    return "\n".join(line for line in done.stdout.splitlines() if "restrict" not in line)


def test_a_json_restore_rebuilds_what_pg_dump_sees(
    pg_url: str, target: str, run_cli: RunCli, tmp_path: Path
) -> None:
    run_sql(pg_url, RICH)
    backup = tmp_path / "rich.json"
    assert run_cli("backup", pg_url, "--format", "json", "-o", backup).returncode == 0
    result = run_cli("restore", backup, target, "--force")
    assert result.returncode == 0, result.stderr
    assert schema_sql(target) == schema_sql(pg_url)
    for table in ('"we""ird"."a b"', "p", "child", "mv", "v0", "places"):
        select = f"SELECT t::text FROM {table} t ORDER BY 1"  # each value as text
        assert query(target, select) == query(pg_url, select)
    # A column's sequence goes on after its largest value; the trigger stays disabled.
    run_sql(target, "INSERT INTO child (pid, region) VALUES (1, 'eu')")
    assert query(target, "SELECT max(id) FROM child") == [(3,)]
    assert query(target, "SELECT total()") == [(1,)]
