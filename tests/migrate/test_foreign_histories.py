"""Other tools' tracking tables on SQLite: recognised, read and shown, never written.

Each table is created with the tool's own DDL (tests/foreign_ddl.py); Alembic, yoyo,
Django and dbmate also create theirs for real when installed (see `tool_runner`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from foreign_ddl import SQLITE
from testkit import missing_tool

from dbinspect.cli import cli as dbinspect_cli
from dbinspect.migrate.foreign import ForeignHistory, read_histories
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

TOOL_VENV = Path(os.environ.get("DBINSPECT_TOOLS_VENV", "/tmp/fvenv"))
"""A virtualenv with alembic, yoyo-migrations and django (not the project's own)."""
NPM_DIR = Path(os.environ.get("DBINSPECT_TOOLS_NPM", "/tmp/fnpm"))
"""An npm project with dbmate and knex installed."""


def make_db(path: Path, *scripts: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript("\n".join(scripts))
    conn.commit()
    conn.close()
    return path


def histories(path: Path, **kwargs: object) -> list[ForeignHistory]:
    return read_histories(parse_url(str(path)), **kwargs)  # type: ignore[arg-type]


def only(path: Path, **kwargs: object) -> ForeignHistory:
    found = histories(path, **kwargs)
    assert len(found) == 1, found
    return found[0]


def run(*args: str) -> Result:
    return CliRunner().invoke(dbinspect_cli, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("DATABASE_URL", "DBINSPECT_MIGRATIONS", "DBINSPECT_OTHER_SOURCE"):
        monkeypatch.delenv(name, raising=False)


# Each tool, with the rows it writes


def test_alembic_head(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "a.db", SQLITE["alembic"], "INSERT INTO alembic_version VALUES ('ae1027a6acf');"
    )
    history = only(db)
    assert (history.tool, history.table, history.head) == (
        "Alembic",
        "alembic_version",
        "ae1027a6acf",
    )
    assert history.state == "clean"


def test_golang_migrate_dirty(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "g.db",
        SQLITE["golang-migrate"],
        "INSERT INTO schema_migrations (version, dirty) VALUES (3, 1);",
    )
    history = only(db)
    assert (history.tool, history.head, history.state) == ("golang-migrate", "3", "dirty")
    assert [e.state for e in history.entries] == ["dirty"]
    assert "dirty at version 3" in history.problems[0]
    out = run("migrate", "info", "--other-tools", str(db)).output
    assert "golang-migrate (schema_migrations): head 3, dirty" in out
    assert "  3/dirty" in out


def test_golang_migrate_clean(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "g.db",
        SQLITE["golang-migrate"],
        "INSERT INTO schema_migrations (version, dirty) VALUES (20240102, 0);",
    )
    history = only(db)
    assert (history.head, history.state, history.problems) == ("20240102", "clean", ())


def test_goose_applied_and_rolled_back(tmp_path: Path) -> None:
    # goose writes version 0 on creating the table, a row per up, and a row per down.
    db = make_db(
        tmp_path / "g.db",
        SQLITE["goose"],
        """
        INSERT INTO goose_db_version (version_id, is_applied, tstamp) VALUES
            (0, 1, '2024-01-01 00:00:00'), (1, 1, '2024-01-01 00:00:01'),
            (2, 1, '2024-01-01 00:00:02'), (3, 1, '2024-01-01 00:00:03'),
            (3, 0, '2024-01-01 00:00:04');
    """,
    )
    history = only(db)
    assert history.tool == "goose"
    assert [(e.version, e.state) for e in history.entries] == [
        ("1", "applied"),
        ("2", "applied"),
        ("3", "reverted"),
    ]
    assert history.head == "2"
    assert history.entries[0].applied_at == "2024-01-01 00:00:01"


def test_flyway_failed_row(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "f.db",
        SQLITE["flyway"],
        """
        INSERT INTO flyway_schema_history VALUES
            (1, '1', 'init', 'SQL', 'V1__init.sql', 123, 'me', '2024-01-01 10:00:00.000', 5, 1),
            (2, '1.1', 'add users', 'SQL', 'V1_1__add_users.sql', 456, 'me',
             '2024-01-02 10:00:00.000', 7, 1),
            (3, '2', 'broken', 'SQL', 'V2__broken.sql', 789, 'me',
             '2024-01-03 10:00:00.000', 1, 0);
    """,
    )
    history = only(db)
    assert history.tool == "Flyway"
    assert history.head == "1.1"
    assert [e.state for e in history.entries] == ["applied", "applied", "failed"]
    assert history.entries[1].name == "add users"
    assert history.state == "failed"
    assert "V2__broken.sql" in history.problems[0]
    out = run("migrate", "info", "--other-tools", str(db)).output
    assert "Flyway (flyway_schema_history): head 1.1, 2 applied, failed" in out
    assert "2/failed broken at 2024-01-03 10:00:00.000 (SQL)" in out


def test_django_heads_per_app(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "d.db",
        SQLITE["django"],
        """
        INSERT INTO django_migrations (app, name, applied) VALUES
            ('contenttypes', '0001_initial', '2024-01-01 10:00:00'),
            ('auth', '0001_initial', '2024-01-01 10:00:01'),
            ('contenttypes', '0002_remove_content_type_name', '2024-01-01 10:00:02');
    """,
    )
    history = only(db)
    assert history.tool == "Django"
    assert history.head == "auth.0001_initial, contenttypes.0002_remove_content_type_name"
    assert history.entries[0].version == "contenttypes.0001_initial"
    assert history.entries[0].applied_at == "2024-01-01 10:00:00"


def test_prisma_rolled_back_and_failed(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "p.db",
        SQLITE["prisma"],
        """
        INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs,
            rolled_back_at, started_at, applied_steps_count) VALUES
        ('a', 'c1', '2024-01-01 10:00:01', '20240101000000_init', NULL, NULL,
         '2024-01-01 10:00:00', 1),
        ('b', 'c2', NULL, '20240102000000_users', 'Error: column exists', '2024-01-02 11:00:00',
         '2024-01-02 10:00:00', 0),
        ('c', 'c3', NULL, '20240103000000_posts', 'Error: syntax', NULL,
         '2024-01-03 10:00:00', 0);
    """,
    )
    history = only(db)
    assert history.tool == "Prisma"
    assert [e.state for e in history.entries] == ["applied", "rolled back", "failed"]
    assert history.entries[1].applied_at == "2024-01-02 11:00:00"
    assert history.entries[1].detail == "Error: column exists"
    assert history.head == "20240101000000_init"
    assert len(history.problems) == 1 and "20240103000000_posts" in history.problems[0]


def test_diesel(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "d.db",
        SQLITE["diesel"],
        "INSERT INTO __diesel_schema_migrations VALUES ('20240101000000', '2024-01-01 10:00:00'),"
        " ('00000000000000', '2024-01-01 09:00:00');",
    )
    history = only(db)
    assert history.tool == "Diesel"
    assert [e.version for e in history.entries] == ["00000000000000", "20240101000000"]
    assert history.head == "20240101000000"


def test_knex_lock_row(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "k.db",
        SQLITE["knex"],
        """
        INSERT INTO knex_migrations (name, batch, migration_time) VALUES
            ('20240101_init.js', 1, 1704103200000), ('20240102_users.js', 2, 1704189600000);
        INSERT INTO knex_migrations_lock (is_locked) VALUES (1);
    """,
    )
    history = only(db)
    assert history.tool == "knex"
    assert history.head == "20240102_users.js"
    assert history.entries[1].detail == "batch 2"
    assert history.siblings == ("knex_migrations_lock",)
    assert history.locks == (
        "knex_migrations_lock: index 1, is_locked = 1 (locked: a run is in progress, "
        "or one was killed)",
    )
    out = run("migrate", "info", "--other-tools", str(db)).output
    assert "lock: knex_migrations_lock: index 1, is_locked = 1" in out


def test_knex_free_lock(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "k.db",
        SQLITE["knex"],
        "INSERT INTO knex_migrations_lock (is_locked) VALUES (0);",
    )
    history = only(db)
    assert history.head is None and history.entries == ()
    assert history.locks[0].endswith("is_locked = 0 (free)")


def test_yoyo_with_log_and_lock(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "y.db",
        SQLITE["yoyo"],
        """
        INSERT INTO _yoyo_migration VALUES ('h1', '0001_init', '2024-01-01 10:00:00'),
            ('h2', '0002_users', '2024-01-02 10:00:00');
        INSERT INTO _yoyo_log VALUES ('l1', 'h1', '0001_init', 'apply', 'me', 'host', NULL,
            '2024-01-01 10:00:00');
        INSERT INTO yoyo_lock VALUES (1, '2024-01-03 10:00:00', 4242);
    """,
    )
    history = only(db)
    assert (history.tool, history.head) == ("yoyo", "0002_users")
    assert history.locks == ("yoyo_lock: locked by pid 4242 since 2024-01-03 10:00:00",)
    assert "1 rows in _yoyo_log" in history.notes[0]


def test_efcore(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "e.db",
        SQLITE["efcore"],
        """
        INSERT INTO "__EFMigrationsHistory" VALUES ('20240101101010_Initial', '8.0.1'),
            ('20240202101010_AddBlogs', '8.0.1');
    """,
    )
    history = only(db)
    assert (history.tool, history.head) == ("EF Core", "20240202101010_AddBlogs")
    assert history.entries[1].name == "AddBlogs"
    assert history.entries[1].detail == "EF Core 8.0.1"


def test_rails_environment(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "r.db",
        SQLITE["rails"],
        """
        INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240201000000');
        INSERT INTO ar_internal_metadata VALUES ('environment', 'production',
            '2024-01-01', '2024-01-01');
    """,
    )
    history = only(db)
    assert (history.tool, history.head) == ("Rails", "20240201000000")
    assert "environment: production" in history.notes
    assert history.siblings == ("ar_internal_metadata",)


# Shared names: told apart by columns and siblings


def test_schema_migrations_told_apart(tmp_path: Path) -> None:
    dbmate = make_db(
        tmp_path / "1.db",
        SQLITE["dbmate"],
        "INSERT INTO schema_migrations VALUES ('20240101000000');",
    )
    rails = make_db(
        tmp_path / "2.db",
        SQLITE["rails"],
        "INSERT INTO schema_migrations VALUES ('20240101000000');",
    )
    golang = make_db(
        tmp_path / "3.db",
        SQLITE["golang-migrate"],
        "INSERT INTO schema_migrations VALUES (20240101000000, 0);",
    )
    assert [only(p).tool for p in (dbmate, rails, golang)] == ["dbmate", "Rails", "golang-migrate"]
    # A schema_migrations of some other shape is nobody's we know: not guessed at.
    other = make_db(tmp_path / "4.db", "CREATE TABLE schema_migrations (id int, filename text);")
    assert histories(other) == []


def test_several_tools_in_one_database(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "m.db",
        SQLITE["alembic"],
        SQLITE["django"],
        SQLITE["knex"],
        "INSERT INTO alembic_version VALUES ('abc');",
    )
    assert [h.tool for h in histories(db)] == ["Alembic", "Django", "knex"]


# Pending files from the tool's folder


def test_dbmate_pending_from_its_default_folder(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "d.db",
        SQLITE["dbmate"],
        "INSERT INTO schema_migrations VALUES ('20240101000000');",
    )
    folder = Path.cwd() / "db" / "migrations"
    folder.mkdir(parents=True)
    for name in ("20240101000000_init.sql", "20240201000000_users.sql", "notes.txt"):
        (folder / name).write_text("-- migrate:up\n")
    history = only(db)
    assert history.folder == folder
    assert [(p.version, p.path.name) for p in history.pending] == [
        ("20240201000000", "20240201000000_users.sql")
    ]
    out = run("migrate", "info", "--other-tools", str(db)).output
    assert "20240201000000/pending db/migrations/20240201000000_users.sql" in out


def test_golang_migrate_pending_with_other_source(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "g.db", SQLITE["golang-migrate"], "INSERT INTO schema_migrations VALUES (2, 0);"
    )
    folder = tmp_path / "gm"
    folder.mkdir()
    for name in (
        "000001_a.up.sql",
        "000001_a.down.sql",
        "000002_b.up.sql",
        "000003_c.up.sql",
        "000003_c.down.sql",
    ):
        (folder / name).write_text("SELECT 1;")
    history = only(db, source=folder)
    assert [p.path.name for p in history.pending] == ["000003_c.up.sql"]
    out = run("migrate", "info", "--other-tools", "--other-source", str(folder), str(db)).output
    assert "3/pending" in out


def test_goose_flyway_diesel_pending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    goose = make_db(
        tmp_path / "g.db",
        SQLITE["goose"],
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1), (1, 1);",
    )
    folder = tmp_path / "goose"
    folder.mkdir()
    for name in ("00001_init.sql", "00002_more.go", "00002_more_test.go"):
        (folder / name).write_text("-- +goose Up\n")
    monkeypatch.setenv("DBINSPECT_OTHER_SOURCE", str(folder))
    assert [p.version for p in only(goose).pending] == ["2"]
    monkeypatch.delenv("DBINSPECT_OTHER_SOURCE")

    flyway = make_db(
        tmp_path / "f.db",
        SQLITE["flyway"],
        """
        INSERT INTO flyway_schema_history VALUES
            (1, '1.1', 'init', 'SQL', 'V1_1__init.sql', 1, 'me', '2024-01-01', 5, 1),
            (2, '2', 'broken', 'SQL', 'V2__broken.sql', 2, 'me', '2024-01-02', 5, 0);
    """,
    )
    sql = Path.cwd() / "sql"  # the Flyway command line's default location
    sql.mkdir()
    for name in ("V1_1__init.sql", "V2__broken.sql", "V10__later.sql", "R__views.sql"):
        (sql / name).write_text("SELECT 1;")
    assert [p.version for p in only(flyway).pending] == ["2", "10"]

    diesel = make_db(
        tmp_path / "d.db",
        SQLITE["diesel"],
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000');",
    )
    migrations = Path.cwd() / "migrations"
    for name in ("2024-01-01-000000_init", "2024-02-01-000000_users"):
        (migrations / name).mkdir(parents=True)
        (migrations / name / "up.sql").write_text("SELECT 1;")
    assert [p.version for p in only(diesel).pending] == ["20240201000000"]


# Surfaces: migrate info beside sqlx's lines, info, JSON


def test_migrate_info_after_sqlx_lines_and_without_folder(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "g.db", SQLITE["golang-migrate"], "INSERT INTO schema_migrations VALUES (3, 1);"
    )
    # No migrations/ folder: the other tools' histories are what `migrate info` shows.
    result = run("migrate", "info", str(db))
    assert result.exit_code == 0
    assert result.output.startswith("golang-migrate (schema_migrations): head 3")
    folder = Path.cwd() / "migrations"
    folder.mkdir()
    (folder / "1_init.sql").write_text("CREATE TABLE t (x);")
    lines = run("migrate", "info", str(db)).output.splitlines()
    assert lines[:3] == [
        "1/pending init",
        "Other migration tools (read-only):",
        "golang-migrate (schema_migrations): head 3, dirty",
    ]
    document = json.loads(run("migrate", "info", "--other-tools", "--json", str(db)).output)
    assert document[0]["tool"] == "golang-migrate"
    assert document[0]["state"] == "dirty"
    assert document[0]["applied"] == [
        {"version": "3", "name": None, "applied_at": None, "state": "dirty", "detail": None}
    ]


def test_info_line_and_json(tmp_path: Path) -> None:
    db = make_db(
        tmp_path / "p.db",
        SQLITE["prisma"],
        SQLITE["alembic"],
        """
        INSERT INTO alembic_version VALUES ('abc123');
        INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at) VALUES
            ('x', 'c', '20240101_init', '2024-01-01');
    """,
    )
    out = run("info", str(db)).output
    line = next(line for line in out.splitlines() if line.startswith("Other migrations:"))
    assert "Alembic (alembic_version): head abc123" in line
    assert "Prisma (_prisma_migrations): nothing applied, failed" in line
    document = json.loads(run("info", "--json", str(db)).output)
    assert [h["tool"] for h in document["other_migrations"]] == ["Alembic", "Prisma"]
    plain = make_db(tmp_path / "plain.db", "CREATE TABLE t (x);")
    assert "Other migrations" not in run("info", str(plain)).output
    assert json.loads(run("info", "--json", str(plain)).output)["other_migrations"] == []


def test_hostile_values_are_escaped(tmp_path: Path) -> None:
    evil = "\x1b]52;c;cHduZWQ=\x07[bold red]boom[/]\u202e"
    conn = sqlite3.connect(make_db(tmp_path / "h.db", SQLITE["knex"], SQLITE["flyway"]))
    conn.execute("INSERT INTO knex_migrations (name, batch) VALUES (?, 1)", (evil,))
    conn.execute(
        "INSERT INTO flyway_schema_history VALUES (1, ?, ?, 'SQL', ?, 1, 'me', '2024', 1, 0)",
        (evil, evil, evil),
    )
    conn.commit()
    conn.close()
    db = tmp_path / "h.db"
    for args in (["migrate", "info", "--other-tools"], ["info"]):
        out = run(*args, str(db)).output
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
        assert "\\x1b]52;c;cHduZWQ=\\x07[bold red]boom[/]\\u202e" in out
    raw = run("migrate", "info", "--other-tools", "--json", str(db)).output
    assert "\x1b" not in raw and "\\u001b" in raw
    assert json.loads(raw)[0]["applied"][0]["version"] == evil  # the value itself, intact


def test_reading_writes_nothing(tmp_path: Path) -> None:
    db = make_db(tmp_path / "n.db", *SQLITE.values())
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    # dbmate, Rails and golang-migrate share one schema_migrations: Rails' sibling claims it.
    assert len(histories(db)) == len(SQLITE) - 2
    run("migrate", "info", str(db))
    run("info", "--json", str(db))
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("n.db")) == ["n.db"]
    assert histories(tmp_path / "missing.db") == []
    assert not (tmp_path / "missing.db").exists()


# The tools themselves, where a registry has them


def _tool(path: Path) -> Path:
    if not path.exists():
        missing_tool(f"{path.name} is not installed in {path.parent.parent}")
    return path


def test_real_alembic(tmp_path: Path) -> None:
    alembic = _tool(TOOL_VENV / "bin" / "alembic")
    db = tmp_path / "alembic.db"
    project = tmp_path / "alembic"
    subprocess.run(
        [str(alembic), "init", str(project)], check=True, capture_output=True, cwd=tmp_path
    )
    ini = tmp_path / "alembic.ini"
    ini.write_text(
        ini.read_text().replace("driver://user:pass@localhost/dbname", f"sqlite:///{db}")
    )
    for message in ("create users", "add email"):
        subprocess.run(
            [str(alembic), "revision", "-m", message], check=True, cwd=tmp_path, capture_output=True
        )
    subprocess.run([str(alembic), "upgrade", "head"], check=True, cwd=tmp_path, capture_output=True)
    heads = subprocess.run(
        [str(alembic), "current"], check=True, cwd=tmp_path, capture_output=True, text=True
    ).stdout.split()
    history = only(db)
    assert history.tool == "Alembic"
    assert history.head == heads[0]


def test_real_yoyo(tmp_path: Path) -> None:
    yoyo = _tool(TOOL_VENV / "bin" / "yoyo")
    db = tmp_path / "yoyo.db"
    folder = tmp_path / "yoyo"
    folder.mkdir()
    (folder / "0001_init.sql").write_text("CREATE TABLE a (x INT);")
    (folder / "0002_more.sql").write_text("CREATE TABLE b (x INT);")
    subprocess.run(
        [
            str(yoyo),
            "apply",
            "--batch",
            "--no-config-file",
            "--database",
            f"sqlite:///{db}",
            str(folder),
        ],
        check=True,
        capture_output=True,
    )
    history = only(db)
    assert history.tool == "yoyo"
    assert [e.version for e in history.entries] == ["0001_init", "0002_more"]
    assert history.head == "0002_more"
    assert all(e.applied_at for e in history.entries)
    assert any("_yoyo_log" in note for note in history.notes)


def test_real_django(tmp_path: Path) -> None:
    python = _tool(TOOL_VENV / "bin" / "python")
    db = tmp_path / "django.db"
    script = (
        "import django, sys\n"
        "from django.conf import settings\n"
        "settings.configure(DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3',"
        " 'NAME': sys.argv[1]}}, INSTALLED_APPS=['django.contrib.contenttypes',"
        " 'django.contrib.auth'])\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
    )
    try:
        subprocess.run([str(python), "-c", script, str(db)], check=True, capture_output=True)
    except subprocess.CalledProcessError as error:
        if b"No module named 'django'" in error.stderr:
            missing_tool("django is not installed")
        raise
    history = only(db)
    assert history.tool == "Django"
    assert "contenttypes.0001_initial" in [e.version for e in history.entries]
    assert "auth." in (history.head or "") and "contenttypes." in (history.head or "")


def test_real_dbmate(tmp_path: Path) -> None:
    dbmate = _tool(NPM_DIR / "node_modules" / ".bin" / "dbmate")
    db = tmp_path / "dbmate.db"
    folder = Path.cwd() / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_init.sql").write_text(
        "-- migrate:up\nCREATE TABLE a (x INT);\n-- migrate:down\nDROP TABLE a;\n"
    )
    subprocess.run(
        [str(dbmate), "--url", f"sqlite:{db}", "--no-dump-schema", "up"],
        check=True,
        capture_output=True,
    )
    (folder / "20240201000000_more.sql").write_text("-- migrate:up\nCREATE TABLE b (x INT);\n")
    history = only(db)
    assert (history.tool, history.head) == ("dbmate", "20240101000000")
    assert [p.version for p in history.pending] == ["20240201000000"]
    status = subprocess.run(
        [str(dbmate), "--url", f"sqlite:{db}", "status"], capture_output=True, text=True
    ).stdout
    assert "Pending: 1" in status  # dbmate agrees


def test_tool_binaries_are_where_the_tests_look() -> None:
    """Names the installs the real-tool tests use, so a missing one is visible as a skip."""
    found = [
        p
        for p in (TOOL_VENV / "bin" / "alembic", NPM_DIR / "node_modules" / ".bin" / "dbmate")
        if p.exists()
    ]
    if not found:
        missing_tool("no tool installed: the real-tool tests skip")
    assert all(shutil.which(str(p)) for p in found)


def test_dbmate_folder_as_source_is_not_shown_twice(tmp_path: Path) -> None:
    """With a dbmate folder as `--source`, its table is the statuses, not another tool."""
    folder = Path.cwd() / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20240101000000_init.sql").write_text(
        "-- migrate:up\nCREATE TABLE a (x INT);\n-- migrate:down\nDROP TABLE a;\n"
    )
    db = tmp_path / "d.db"
    assert run("migrate", "run", "--source", str(folder), str(db)).exit_code == 0
    out = run("migrate", "info", "--source", str(folder), str(db)).output
    assert "20240101000000/installed init" in out
    assert "Other migration tools" not in out
    # Without the dbmate folder as its source, the same table is dbmate's history.
    assert only(db).tool == "dbmate"
