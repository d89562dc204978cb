"""Tests the `info` and `schema` commands, URL sources and error reporting of the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from header_pragmas import HEADER_PRAGMAS

from dbinspect import __version__, sqlite_driver
from dbinspect.cli import cli
from dbinspect.sqlite_driver import dbapi as sqlite3

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / ".." / "shared" / "corpus"
CHINOOK = CORPUS / "chinook-database" / "ChinookDatabase" / "DataSources" / "Chinook_Sqlite.sqlite"
SQLX_DB = CORPUS / "sqlx" / "tests" / "sqlite" / "sqlite.db"
CORPUS_DBS = pytest.mark.parametrize("source", [CHINOOK, SQLX_DB], ids=["chinook", "sqlx"])

RunCli = Callable[..., subprocess.CompletedProcess[str]]
OneLineError = Callable[..., str]
MakeDb = Callable[..., Path]

REQUIRED_KEYS = {
    "tables",
    "views",
    "indexes",
    "triggers",
    "virtual_tables",
    "sqlite_version",
    "journal_mode",
    "page_size",
    "size_bytes",
}


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stderr == ""
    return result.stdout


def what_sqlite_says(path: Path) -> dict[str, object]:
    """The facts `info` reports, read with Python's sqlite3 module directly."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        facts: dict[str, object] = {
            name: conn.execute(f"PRAGMA {name}").fetchone()[0] for name in HEADER_PRAGMAS
        }
        facts["sqlite_version"] = conn.execute("SELECT sqlite_version()").fetchone()[0]
        rows = conn.execute("SELECT type, name, sql FROM sqlite_schema").fetchall()
        shadow = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'"
            )
        }
    finally:
        conn.close()
    internal = [
        r
        for r in rows
        if r[1].startswith(("sqlite_autoindex_", "sqlite_stat"))
        or r[1] == "sqlite_sequence"
        or (r[0] == "table" and r[1].startswith("sqlite_"))
        or r[1] in shadow
    ]
    user = [r for r in rows if r not in internal]
    virtual = [r for r in user if r[0] == "table" and r[2].upper().startswith("CREATE VIRTUAL")]
    facts |= {
        "tables": sum(r[0] == "table" for r in user) - len(virtual),
        "virtual_tables": len(virtual),
        "views": sum(r[0] == "view" for r in user),
        "indexes": sum(r[0] == "index" for r in user),
        "triggers": sum(r[0] == "trigger" for r in user),
        "internal": len(internal),
        "size_bytes": path.stat().st_size,
        "path": str(path.resolve()),
    }
    return facts


def split_statements(text: str) -> list[str]:
    """Split SQL text into complete statements, stripped."""
    statements, current = [], ""
    for line in text.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    assert not current.strip(), current
    return statements


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Callable[[Path], Path]:
    def copy(source: Path) -> Path:
        if not source.is_file():
            pytest.skip(f"corpus file missing: {source}")
        target = tmp_path / "corpus" / source.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
        return target

    return copy


# --- Version, help, entry points -------------------------------------------------------


def test_version_via_module_and_script(run_cli: RunCli) -> None:
    assert ok(run_cli("--version")).strip() == f"dbinspect, version {__version__}"
    script = Path(sys.executable).parent / "dbinspect"
    if script.exists():
        result = subprocess.run(
            [str(script), "--version"], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0
        assert __version__ in result.stdout


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_commands(run_cli: RunCli, flag: str) -> None:
    out = ok(run_cli(flag))
    assert out.startswith("Usage: ")
    for command in ("info", "schema"):
        assert re.search(rf"^\s+{command}\s", out, re.MULTILINE), command


@pytest.mark.parametrize("command", ["info", "schema"])
def test_command_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "--database-url" in result.output
    assert "Example" in result.output


# --- info ------------------------------------------------------------------------------


@CORPUS_DBS
def test_info_json_matches_sqlite(run_cli: RunCli, corpus_copy: Callable[..., Path], source):
    path = corpus_copy(source)
    data = json.loads(ok(run_cli("info", "--json", "--database-url", f"sqlite:{path}")))
    assert REQUIRED_KEYS <= set(data)
    expected = what_sqlite_says(path)
    for key, value in expected.items():
        assert data[key] == value, key
    assert data["url"] == f"sqlite:{path}"
    assert data["read_only"] is True


@CORPUS_DBS
def test_info_text_matches_sqlite(run_cli: RunCli, corpus_copy: Callable[..., Path], source):
    path = corpus_copy(source)
    out = ok(run_cli("info", path))
    lines = dict(line.split(":", 1) for line in out.splitlines())
    shown = {label.strip(): value.strip() for label, value in lines.items()}
    expected = what_sqlite_says(path)
    assert shown["Path"] == expected["path"]
    assert shown["Size"] == f"{expected['size_bytes']:,} bytes"
    library = "bundled" if sqlite_driver.BUNDLED else "system"
    assert shown["SQLite version"] == f"{expected['sqlite_version']} ({library})"
    assert shown["Journal mode"] == expected["journal_mode"]
    assert shown["Page size"] == f"{expected['page_size']:,}"
    assert shown["Page count"] == f"{expected['page_count']:,}"
    assert shown["Freelist count"] == f"{expected['freelist_count']:,}"
    assert shown["Encoding"] == expected["encoding"]
    assert shown["User version"] == str(expected["user_version"])
    assert shown["Schema version"] == str(expected["schema_version"])
    for label, key in (
        ("Tables", "tables"),
        ("Views", "views"),
        ("Indexes", "indexes"),
        ("Triggers", "triggers"),
        ("Virtual tables", "virtual_tables"),
        ("Internal objects", "internal"),
    ):
        assert shown[label] == str(expected[key]), label


def test_info_on_the_read_only_corpus_file_in_place(run_cli: RunCli) -> None:
    if not CHINOOK.is_file():
        pytest.skip("corpus missing")
    before = sorted(p.name for p in CHINOOK.parent.iterdir())
    data = json.loads(ok(run_cli("info", "--json", CHINOOK)))
    assert data["tables"] == 11
    assert data["indexes"] == 11
    assert sorted(p.name for p in CHINOOK.parent.iterdir()) == before


def test_info_counts_every_kind(tmp_path: Path, make_db: MakeDb, run_cli: RunCli) -> None:
    path = make_db(
        tmp_path,
        "CREATE TABLE a(id INTEGER PRIMARY KEY AUTOINCREMENT, u UNIQUE);"
        "CREATE TABLE b(x); CREATE VIEW v AS SELECT * FROM a; CREATE INDEX bx ON b(x);"
        "CREATE TRIGGER t AFTER INSERT ON b BEGIN SELECT 1; END;"
        "CREATE VIRTUAL TABLE f USING fts5(body);"
        "INSERT INTO a(u) VALUES (1); ANALYZE;",
    )
    data = json.loads(ok(run_cli("info", "--json", path)))
    assert [data[k] for k in ("tables", "views", "indexes", "triggers", "virtual_tables")] == [
        2,
        1,
        1,
        1,
        1,
    ]
    expected = what_sqlite_says(path)
    assert data["internal"] == expected["internal"] >= 7  # autoindex, sequence, stat1, shadows


def test_info_in_memory(run_cli: RunCli) -> None:
    data = json.loads(ok(run_cli("info", "--json", "sqlite::memory:")))
    assert data["path"] is None
    assert data["tables"] == 0


# --- Where the database comes from ------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        "{rel}",
        "sqlite:{rel}",
        "sqlite://{rel}",
        "sqlite:{abs}",
        "sqlite://{abs}",
        "sqlite:{abs}?mode=ro",
        "{abs}",
    ],
)
def test_url_forms(tmp_path: Path, make_db: MakeDb, run_cli: RunCli, form: str) -> None:
    path = make_db(tmp_path, "CREATE TABLE only_here(x);", "forms.db")
    text = form.format(rel="forms.db", abs=path)
    for args in (["info", "--json", text], ["info", "--json", "--database-url", text]):
        data = json.loads(ok(run_cli(*args, cwd=tmp_path)))
        assert data["path"] == str(path.resolve())
        assert data["tables"] == 1


def test_url_sources_and_precedence(tmp_path: Path, make_db: MakeDb, run_cli: RunCli) -> None:
    names = ["argument", "option", "environ", "dotenv", "toml", "pyproject"]
    for i, name in enumerate(names):
        make_db(tmp_path, ";".join(f"CREATE TABLE t{j}(x)" for j in range(i + 1)), f"{name}.db")
    (tmp_path / "pyproject.toml").write_text('[tool.dbinspect]\ndatabase-url = "pyproject.db"\n')

    def chosen(*args: str, env: dict[str, str] | None = None) -> int:
        return int(json.loads(ok(run_cli("info", "--json", *args, env=env)))["tables"])

    assert chosen() == 6
    (tmp_path / "dbinspect.toml").write_text('database-url = "sqlite:toml.db"\n')
    assert chosen() == 5
    (tmp_path / ".env").write_text('DATABASE_URL="sqlite:dotenv.db"\n')
    assert chosen() == 4
    env = {"DATABASE_URL": "sqlite:environ.db"}
    assert chosen(env=env) == 3
    assert chosen("--database-url", "sqlite:option.db", env=env) == 2
    assert chosen("argument.db", "--database-url", "sqlite:option.db", env=env) == 1


def test_no_database_given(tmp_path: Path, run_cli: RunCli, one_line_error: OneLineError) -> None:
    for command in ("info", "schema"):
        one_line_error(run_cli(command), "no database given", "DATABASE_URL")


@pytest.mark.parametrize(
    "url",
    [
        "postgres://admin:s3cr3tpw@localhost:1/db",
        "mysql://admin:s3cr3tpw@localhost/db",
        "postgres://admin@/db?password=s3cr3tpw",
    ],
)
def test_errors_never_show_the_password(
    run_cli: RunCli, one_line_error: OneLineError, url: str, tmp_path: Path
) -> None:
    log = tmp_path / "log.txt"
    for args in (
        ["info", "--database-url", url, "--log-file", str(log)],
        ["migrate", "info", "--database-url", url, "--log-file", str(log)],
        ["schema", url],
    ):
        line = one_line_error(run_cli(*args))
        assert "s3cr3tpw" not in line
    logged_text = log.read_text() if log.exists() else ""
    assert "s3cr3tpw" not in logged_text
    if url.startswith("postgres://admin:"):
        # Every command's failure is logged, masked.
        assert (
            logged_text.count("ERROR dbinspect.cli: cannot connect to postgres://admin:***@") == 2
        )
    # DBINSPECT_LOG without a log file logs to stderr: masked there too.
    logged = run_cli("info", url, env={"DBINSPECT_LOG": "debug"})
    assert logged.returncode == 1
    assert logged.stderr.splitlines()[-1].startswith("error: ")
    assert "s3cr3tpw" not in logged.stderr


def test_password_from_environment_is_not_shown(
    run_cli: RunCli, one_line_error: OneLineError
) -> None:
    result = run_cli("info", "--json", env={"DATABASE_URL": "postgres://u:s3cr3tpw@h:1/d"})
    one_line_error(result)
    assert "s3cr3tpw" not in result.stdout + result.stderr


def test_bad_mode_and_usage_errors(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    path = make_db(tmp_path, "CREATE TABLE t(x);")
    one_line_error(run_cli("info", f"sqlite:{path}?mode=bogus"), "unknown SQLite mode")
    usage = run_cli("schema", "--format", "xml", path)
    assert usage.returncode == 2
    assert "Traceback" not in usage.stderr


# --- schema ----------------------------------------------------------------------------


@CORPUS_DBS
def test_schema_sql_is_sqlite_schema_exactly(
    run_cli: RunCli, corpus_copy: Callable[..., Path], source: Path
) -> None:
    path = corpus_copy(source)
    out = ok(run_cli("schema", "--database-url", f"sqlite:{path}"))
    conn = sqlite3.connect(path)
    stored = conn.execute(
        "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' "
        "ESCAPE '\\'"
    ).fetchall()
    conn.close()
    ours = split_statements(out)
    assert sorted(ours) == sorted(s.strip() + ";" for (s,) in stored)
    kinds = [s.split()[1].upper() for s in ours]
    order = {"TABLE": 0, "VIRTUAL": 1, "VIEW": 2, "INDEX": 3, "UNIQUE": 3, "TRIGGER": 4}
    assert [order[k] for k in kinds] == sorted(order[k] for k in kinds)


@CORPUS_DBS
def test_schema_sql_matches_the_sqlite3_shell(
    run_cli: RunCli, corpus_copy: Callable[..., Path], source: Path
) -> None:
    shell = shutil.which("sqlite3")
    if shell is None:
        pytest.skip("the sqlite3 shell is not installed")
    path = corpus_copy(source)
    shown = subprocess.run(
        [shell, "-readonly", str(path), ".schema"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    theirs = {
        re.sub(r"\n/\* .* \*/;$", ";", s)  # the shell appends a comment listing view columns
        for s in split_statements(shown)
        if not re.match(r"CREATE TABLE (IF NOT EXISTS )?['\"]?sqlite_", s)
    }
    ours = set(split_statements(ok(run_cli("schema", path))))
    assert ours == theirs


@CORPUS_DBS
def test_schema_is_deterministic_and_o_writes_the_same(
    tmp_path: Path, run_cli: RunCli, corpus_copy: Callable[..., Path], source: Path
) -> None:
    path = corpus_copy(source)
    for fmt in ("sql", "json"):
        first = ok(run_cli("schema", "--format", fmt, path))
        second = ok(run_cli("schema", "--format", fmt, path))
        assert first == second
        target = tmp_path / f"out.{fmt}"
        assert ok(run_cli("schema", "--format", fmt, "-o", target, path)) == ""
        assert target.read_text(encoding="utf-8") == first


def test_schema_replays_into_the_same_schema(
    tmp_path: Path, run_cli: RunCli, corpus_copy: Callable[..., Path]
) -> None:
    path = corpus_copy(CHINOOK)
    dumped = ok(run_cli("schema", path))
    replay = tmp_path / "replay.db"
    conn = sqlite3.connect(replay)
    conn.executescript(dumped)
    conn.close()
    assert ok(run_cli("schema", replay)) == dumped
    assert ok(run_cli("schema", "--format", "json", replay)) == ok(
        run_cli("schema", "--format", "json", path)
    )


def test_schema_json_structure(tmp_path: Path, make_db: MakeDb) -> None:
    path = make_db(
        tmp_path,
        """
        CREATE TABLE parent(id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE DEFAULT 'x');
        CREATE TABLE child(
            a INTEGER, b INTEGER, pid INTEGER REFERENCES parent(id) ON DELETE CASCADE,
            total AS (a + b) STORED, PRIMARY KEY (b, a)
        );
        CREATE INDEX child_pid ON child(pid) WHERE pid IS NOT NULL;
        CREATE TRIGGER child_ai AFTER INSERT ON child BEGIN SELECT 1; END;
        CREATE VIEW pairs AS SELECT a, b FROM child;
        """,
    )
    result = CliRunner().invoke(cli, ["schema", "--format", "json", str(path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"tables", "virtual_tables", "views", "indexes", "triggers"}
    assert [t["name"] for t in data["tables"]] == ["child", "parent"]
    child, parent = data["tables"]
    assert child["columns"] == [
        {
            "name": "a",
            "type": "INTEGER",
            "not_null": False,
            "default": None,
            "primary_key": 2,
            "hidden": 0,
            "generated": None,
        },
        {
            "name": "b",
            "type": "INTEGER",
            "not_null": False,
            "default": None,
            "primary_key": 1,
            "hidden": 0,
            "generated": None,
        },
        {
            "name": "pid",
            "type": "INTEGER",
            "not_null": False,
            "default": None,
            "primary_key": 0,
            "hidden": 0,
            "generated": None,
        },
        {
            "name": "total",
            "type": "",
            "not_null": False,
            "default": None,
            "primary_key": 0,
            "hidden": 3,
            "generated": "stored",
        },
    ]
    assert child["foreign_keys"] == [
        {
            "columns": ["pid"],
            "references": "parent",
            "ref_columns": ["id"],
            "on_update": "NO ACTION",
            "on_delete": "CASCADE",
        }
    ]
    assert child["triggers"] == ["child_ai"]
    partial = next(ix for ix in child["indexes"] if ix["name"] == "child_pid")
    assert (partial["columns"], partial["unique"], partial["where"]) == (
        ["pid"],
        False,
        "pid IS NOT NULL",
    )
    code = next(c for c in parent["columns"] if c["name"] == "code")
    assert (code["not_null"], code["default"]) == (True, "'x'")
    assert any(ix["unique"] and ix["columns"] == ["code"] for ix in parent["indexes"])
    assert [v["name"] for v in data["views"]] == ["pairs"]
    assert [c["name"] for c in data["views"][0]["columns"]] == ["a", "b"]
    assert [i["name"] for i in data["indexes"]] == ["child_pid"]
    assert data["indexes"][0]["where"] == "pid IS NOT NULL"
    assert data["triggers"] == [
        {
            "name": "child_ai",
            "sql": "CREATE TRIGGER child_ai AFTER INSERT ON child BEGIN SELECT 1; END",
            "table": "child",
        }
    ]


def test_schema_of_hostile_names_keeps_them_exact(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "odd.db"
    name = 'a "quoted" [name] ünï ' + "z" * 1000
    conn = sqlite3.connect(path)
    conn.execute(f'CREATE TABLE "{name.replace(chr(34), chr(34) * 2)}" (x)')
    conn.close()
    data = json.loads(ok(run_cli("schema", "--format", "json", path)))
    assert [t["name"] for t in data["tables"]] == [name]
    sql = ok(run_cli("schema", path))
    assert name.replace('"', '""') in sql


def test_schema_output_to_an_unwritable_place(
    tmp_path: Path, make_db: MakeDb, run_cli: RunCli, one_line_error: OneLineError
) -> None:
    path = make_db(tmp_path, "CREATE TABLE t(x);")
    one_line_error(run_cli("schema", "-o", tmp_path / "no" / "such" / "dir.sql", path), "cannot")


def test_schema_of_an_empty_database(tmp_path: Path, run_cli: RunCli) -> None:
    path = tmp_path / "blank.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 1")  # writes the header: a valid, empty database
    conn.close()
    assert ok(run_cli("schema", path)) == ""
    assert json.loads(ok(run_cli("schema", "--format", "json", path))) == {
        "tables": [],
        "virtual_tables": [],
        "views": [],
        "indexes": [],
        "triggers": [],
    }


def test_info_and_schema_on_a_wal_database_with_pending_rows(
    tmp_path: Path, run_cli: RunCli
) -> None:
    folder = tmp_path / "wal"
    folder.mkdir()
    writer = (
        "import os, signal, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA journal_mode=WAL')\n"
        "conn.execute('PRAGMA wal_autocheckpoint=0')\n"
        "conn.execute('CREATE TABLE pending(x)')\n"
        "conn.execute('CREATE INDEX pending_x ON pending(x)')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", writer, str(folder / "app.db")], check=False)

    def state() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "app.db-shm"}

    assert sorted(p.name for p in folder.iterdir()) == ["app.db", "app.db-shm", "app.db-wal"]
    before = state()
    data = json.loads(ok(run_cli("info", "--json", folder / "app.db")))
    assert (data["tables"], data["indexes"], data["journal_mode"]) == (1, 1, "wal")
    assert data["wal_size_bytes"] == len(before["app.db-wal"])
    assert "CREATE TABLE pending(x);" in ok(run_cli("schema", folder / "app.db"))
    assert state() == before
    assert sorted(p.name for p in folder.iterdir()) == ["app.db", "app.db-shm", "app.db-wal"]


def test_migrate_commands_log_each_migration(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "1_create_a.up.sql").write_text("CREATE TABLE a (x);\n")
    (folder / "1_create_a.down.sql").write_text("DROP TABLE a;\n")
    db, log = f"sqlite:{tmp_path / 'app.db'}", tmp_path / "migrate.log"
    applied = run_cli("migrate", "run", "-D", db, "--source", folder, "--log-file", log)
    assert applied.returncode == 0, applied.stderr
    env = {"DBINSPECT_LOG": "info"}
    reverted = run_cli("migrate", "revert", "-D", db, "--source", folder, env=env)
    assert reverted.returncode == 0, reverted.stderr
    entry = r"INFO dbinspect\.migrate: {} 1 create a \([0-9.]+ ms\)"
    assert re.search(entry.format("applied"), log.read_text())
    assert re.search(entry.format("reverted"), reverted.stderr)
    assert reverted.stdout.startswith("Applied 1/revert create a (")  # the output is unchanged


def test_demo_refuses_a_server_url(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path
) -> None:
    one_line_error(run_cli("demo", "postgres://u@h/x", "--no-open"), "demo builds a SQLite file")
    assert list(tmp_path.iterdir()) == []  # no file named after the URL
    one_line_error(run_cli("info", "mysql://u@h/db"), "'mysql'", "PostgreSQL")


def test_dash_is_standard_output_and_never_a_file_named_dash(
    run_cli: RunCli, one_line_error: OneLineError, tmp_path: Path, make_db: MakeDb
) -> None:
    path = make_db(tmp_path, "CREATE TABLE t (x); INSERT INTO t VALUES (1);")
    schema = run_cli("schema", path, "-o", "-")
    assert schema.returncode == 0 and schema.stdout.startswith("CREATE TABLE t"), schema.stderr
    exported = run_cli("export", path, "t", "-o", "-", "--format", "csv")
    assert exported.returncode == 0 and exported.stdout.splitlines() == ["x", "1"], exported
    backup = run_cli("backup", path, "-o", "-")
    assert backup.returncode == 2 and "a backup is a file" in backup.stderr
    assert not (tmp_path / "-").exists()
