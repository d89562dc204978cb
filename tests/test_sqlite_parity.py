"""SQLite parity with sqlx: the bundled SQLite runs what sqlx's SQLite 3.46 runs.

A migration folder using functions newer than the system's SQLite 3.40 (`concat`,
`string_agg`, `timediff`, `jsonb*`...) in tables, generated columns, views and triggers
applies and reverts through `python -m dbinspect`; on the fallback library it stops
cleanly. `info` names the library in use; sqlean's own extensions stay off; and only
`dbinspect/sqlite_driver.py` imports a SQLite driver.
"""

from __future__ import annotations

import ast
import json
import sqlite3 as stdlib_sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dbinspect import sqlite_driver as driver

ROOT = Path(__file__).resolve().parent.parent
RunCli = Callable[..., subprocess.CompletedProcess[str]]
needs_bundled = pytest.mark.skipif(
    not driver.BUNDLED, reason="needs the bundled SQLite (the system's lacks these functions)"
)

PARITY_MIGRATIONS = {
    "0001_people.up.sql": """\
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    first TEXT NOT NULL,
    last TEXT NOT NULL,
    joined TEXT NOT NULL,
    left_on TEXT NOT NULL,
    profile BLOB NOT NULL DEFAULT (jsonb('{"tags": []}')),
    full_name TEXT GENERATED ALWAYS AS (concat_ws(' ', first, last)) STORED,
    name_bytes INTEGER GENERATED ALWAYS AS (octet_length(concat(first, last))) VIRTUAL,
    tenure TEXT GENERATED ALWAYS AS (timediff(left_on, joined)) VIRTUAL
);
""",
    "0001_people.down.sql": "DROP TABLE people;\n",
    "0002_profile_changes.up.sql": """\
CREATE TABLE profile_changes (
    id INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL,
    change BLOB NOT NULL
);
CREATE TRIGGER people_initials AFTER INSERT ON people
BEGIN
    UPDATE people
    SET profile = jsonb_set(
        profile, '$.initials', concat(substr(new.first, 1, 1), substr(new.last, 1, 1))
    )
    WHERE id = new.id;
END;
CREATE TRIGGER people_profile_changed AFTER UPDATE OF profile ON people
BEGIN
    INSERT INTO profile_changes (person_id, change)
    VALUES (new.id, jsonb_object('before', jsonb(old.profile), 'after', jsonb(new.profile)));
END;
""",
    "0002_profile_changes.down.sql": """\
DROP TRIGGER people_profile_changed;
DROP TRIGGER people_initials;
DROP TABLE profile_changes;
""",
    "0003_team.up.sql": """\
CREATE VIEW team AS
SELECT
    string_agg(full_name, '; ' ORDER BY id) AS names,
    sum(name_bytes) AS name_bytes,
    json(jsonb_group_array(tenure)) AS tenures,
    json(jsonb_group_object(first, jsonb_extract(profile, '$.initials'))) AS initials
FROM people;
""",
    "0003_team.down.sql": "DROP VIEW team;\n",
    "0004_people_rows.up.sql": """\
INSERT INTO people (id, first, last, joined, left_on)
VALUES (1, 'Ada', 'Lovelace', '1833-06-05', '1852-11-27'),
       (2, 'Zoë', 'Ng', '2020-01-01 00:00:00', '2021-03-04 05:06:07');
UPDATE people SET profile = jsonb_insert(profile, '$.tags[#]', 'maths') WHERE id = 1;
UPDATE people
SET profile = jsonb_patch(jsonb_replace(profile, '$.tags', jsonb_array('ops', 'db')),
                          '{"team": "infra"}')
WHERE id = 2;
UPDATE people SET profile = jsonb_remove(profile, '$.team')
WHERE id = 2 AND jsonb_extract(profile, '$.team') = 'infra';
""",
    "0004_people_rows.down.sql": "DELETE FROM profile_changes;\nDELETE FROM people;\n",
}


def create_db(folder: Path, sql: str, name: str = "test.db") -> Path:
    """`folder / name`, built by running `sql` as one script."""
    conn = driver.connect(folder / name)
    try:
        conn.executescript(sql)
    finally:
        conn.close()
    return folder / name


def write_migrations(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = driver.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def applied(path: Path) -> list[tuple[int, int]]:
    """(version, success) of every tracking row; empty when there is no tracking table."""
    if not query(path, "SELECT 1 FROM sqlite_schema WHERE name = '_sqlx_migrations'"):
        return []
    rows = query(path, "SELECT version, success FROM _sqlx_migrations ORDER BY version")
    return [(int(str(v)), int(str(s))) for v, s in rows]


def one_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- Functions newer than the system's SQLite -------------------------------------------


@needs_bundled
def test_migration_using_current_functions_applies_and_reverts(
    run_cli: RunCli, tmp_path: Path
) -> None:
    write_migrations(tmp_path / "migrations", PARITY_MIGRATIONS)
    db = tmp_path / "app.db"

    run = run_cli("migrate", "run", "-D", "sqlite:app.db")

    assert run.returncode == 0, run.stderr
    assert [line.split(" (")[0] for line in run.stdout.splitlines()] == [
        "Applied 1/migrate people",
        "Applied 2/migrate profile changes",
        "Applied 3/migrate team",
        "Applied 4/migrate people rows",
    ]
    assert applied(db) == [(1, 1), (2, 1), (3, 1), (4, 1)]
    # Generated columns, computed by concat_ws, octet_length (bytes: ë is two) and timediff.
    assert query(db, "SELECT id, full_name, name_bytes, tenure FROM people ORDER BY id") == [
        (1, "Ada Lovelace", 11, "+0019-05-22 00:00:00.000"),
        (2, "Zoë Ng", 6, "+0001-02-03 05:06:07.000"),
    ]
    # JSONB written by the insert trigger (jsonb_set) and the updates (jsonb_insert, ...).
    assert query(db, "SELECT typeof(profile), json(profile) FROM people ORDER BY id") == [
        ("blob", '{"tags":["maths"],"initials":"AL"}'),
        ("blob", '{"tags":["ops","db"],"initials":"ZN"}'),
    ]
    # The update trigger recorded each change as a jsonb_object.
    changes = query(db, "SELECT person_id, json(change) FROM profile_changes ORDER BY id")
    assert [person for person, _ in changes] == [1, 2, 1, 2, 2]
    last = json.loads(str(changes[-1][1]))
    assert last["before"]["team"] == "infra" and "team" not in last["after"]
    # The view aggregates with string_agg and jsonb_group_array/jsonb_group_object.
    assert query(db, "SELECT * FROM team") == [
        (
            "Ada Lovelace; Zoë Ng",
            17,
            '["+0019-05-22 00:00:00.000","+0001-02-03 05:06:07.000"]',
            '{"Ada":"AL","Zoë":"ZN"}',
        )
    ]
    # Inspection reads the same database through the same library.
    schema = run_cli("schema", "--format", "json", "app.db")
    assert schema.returncode == 0, schema.stderr
    [people] = [t for t in json.loads(schema.stdout)["tables"] if t["name"] == "people"]
    assert {c["name"]: c["generated"] for c in people["columns"]}["full_name"] is not None

    revert = run_cli("migrate", "revert", "--target-version", "0", "-D", "sqlite:app.db")

    assert revert.returncode == 0, revert.stderr
    assert [line.split(" (")[0] for line in revert.stdout.splitlines()] == [
        "Applied 4/revert people rows",
        "Applied 3/revert team",
        "Applied 2/revert profile changes",
        "Applied 1/revert people",
    ]
    assert applied(db) == []
    assert query(db, "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE '%sqlx%'") == []


NEWER_FUNCTIONS = {
    "concat": "concat('a', 1)",
    "concat_ws": "concat_ws('-', 'a', 'b')",
    "octet_length": "octet_length('ë')",
    "string_agg": "(SELECT string_agg(body, ',') FROM notes)",
    "timediff": "timediff('2025-01-02', '2025-01-01')",
    "jsonb": "jsonb('[1]')",
    "jsonb_object": "jsonb_object('a', 1)",
}


@pytest.mark.parametrize("function", NEWER_FUNCTIONS)
def test_fallback_sqlite_stops_cleanly_at_a_newer_function(
    run_cli: RunCli, tmp_path: Path, function: str
) -> None:
    write_migrations(
        tmp_path / "migrations",
        {
            "0001_notes.sql": "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n",
            f"0002_uses_{function}.sql": (
                "INSERT INTO notes (body) VALUES ('rolled back');\n"
                f"CREATE TABLE computed AS SELECT {NEWER_FUNCTIONS[function]} AS value;\n"
            ),
        },
    )

    result = run_cli("migrate", "run", "-D", "sqlite:app.db", env={driver.FORCE_ENV: "system"})

    one_error(result, f"0002_uses_{function}.sql", f"no such function: {function}")
    assert applied(tmp_path / "app.db") == [(1, 1)]  # no tracking row for version 2
    assert query(tmp_path / "app.db", "SELECT count(*) FROM notes") == [(0,)]


# --- Which library `info` reports --------------------------------------------------------


@needs_bundled
def test_info_reports_the_bundled_library(run_cli: RunCli, tmp_path: Path) -> None:
    sqlean = pytest.importorskip("sqlean")
    create_db(tmp_path, "CREATE TABLE t (x);", "app.db")

    text = run_cli("info", "app.db")
    as_json = run_cli("info", "--json", "app.db")

    assert text.returncode == 0, text.stderr
    assert f"SQLite version:   {sqlean.sqlite_version} (bundled)" in text.stdout.splitlines()
    facts = json.loads(as_json.stdout)
    assert facts["sqlite_version"] == sqlean.sqlite_version
    assert facts["sqlite_library"] == "bundled"
    # At least sqlx's own SQLite (3.46), whatever the system has.
    version = tuple(int(part) for part in sqlean.sqlite_version.split("."))
    assert version >= (3, 46)
    assert driver.LIBRARY_VERSION == sqlean.sqlite_version


def test_info_reports_the_system_library_when_forced(run_cli: RunCli, tmp_path: Path) -> None:
    create_db(tmp_path, "CREATE TABLE t (x);", "app.db")
    forced = {driver.FORCE_ENV: "system"}

    text = run_cli("info", "app.db", env=forced)
    as_json = run_cli("info", "--json", "app.db", env=forced)

    assert text.returncode == 0, text.stderr
    expected = f"SQLite version:   {stdlib_sqlite3.sqlite_version} (system)"
    assert expected in text.stdout.splitlines()
    facts = json.loads(as_json.stdout)
    assert facts["sqlite_version"] == stdlib_sqlite3.sqlite_version
    assert facts["sqlite_library"] == "system"


# --- sqlean's own extensions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "function", "call"),
    [
        ("SQLEAN_ENABLE", "regexp_like", "regexp_like('abc', 'b')"),
        ("SQLEAN_ENABLE", "readfile", "readfile('/etc/hostname')"),
        ("SQLEAN_ENABLE_REGEXP", "regexp_like", "regexp_like('abc', 'b')"),
        ("SQLEAN_ENABLE_FILEIO", "readfile", "readfile('/etc/hostname')"),
    ],
)
def test_sqleans_own_extensions_stay_off(
    run_cli: RunCli, tmp_path: Path, variable: str, function: str, call: str
) -> None:
    pytest.importorskip("sqlean")  # the subprocess uses it (the run_cli environment)
    write_migrations(
        tmp_path / "migrations", {f"0001_{function}.sql": f"CREATE TABLE t AS SELECT {call};\n"}
    )

    result = run_cli("migrate", "run", "-D", "sqlite:app.db", env={variable: "1"})

    one_error(result, f"0001_{function}.sql", f"no such function: {function}")
    assert applied(tmp_path / "app.db") == []


# --- Layering: one module imports the driver --------------------------------------------

DRIVER_MODULES = frozenset({"sqlite3", "sqlean", "aiosqlite"})
PACKAGE = ROOT / "dbinspect"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.AST) -> list[str]:
    """The top-level module names `node` imports (statements, import_module, __import__)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        first = node.args[0]
        if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
            return [str(first.value)]
    return []


def runtime_driver_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of each driver import that runs at runtime (not under TYPE_CHECKING)."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:  # the else branch runs
                visit(child)
            return
        for name in _imported(node):
            if name.split(".")[0] in DRIVER_MODULES:
                found.append((getattr(node, "lineno", 0), name))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def test_the_import_check_sees_every_kind_of_runtime_import() -> None:
    source = """\
import sqlite3
from typing import TYPE_CHECKING
import typing
if TYPE_CHECKING:
    import aiosqlite
    from sqlean import dbapi2
else:
    import sqlean.dbapi2
if typing.TYPE_CHECKING:
    import sqlite3 as typed
def later():
    from aiosqlite import Connection
    import importlib
    return importlib.import_module("sqlite3"), __import__("sqlean")
"""
    assert runtime_driver_imports(source) == [
        (1, "sqlite3"),
        (8, "sqlean.dbapi2"),
        (12, "aiosqlite"),
        (14, "sqlite3"),
        (14, "sqlean"),
    ]


def test_only_the_driver_module_imports_a_sqlite_driver() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 30  # the whole package, not an empty folder
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in modules
        if path.name != "sqlite_driver.py" or path.parent != PACKAGE
        if (found := runtime_driver_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
    # The driver module itself is where the imports are.
    own = runtime_driver_imports((PACKAGE / "sqlite_driver.py").read_text(encoding="utf-8"))
    assert {name for _, name in own} == DRIVER_MODULES
