"""`backup --format sql|json` of SQLite: what the `sqlite3` shell and restore rebuild."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from testkit import MakeDb, RunCli

from dbinspect.sqlite_driver import dbapi as sqlite3
from ops.dbcompare import snapshot

EVERY_CASE = """
PRAGMA user_version = 42; PRAGMA application_id = 1234;
CREATE TABLE "we ""ird" ("a b" TEXT, 'c''q' INTEGER, g INT GENERATED ALWAYS AS (length("a b")));
CREATE TABLE s(id INTEGER PRIMARY KEY AUTOINCREMENT, x ANY) STRICT;
CREATE TABLE w(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
CREATE VIRTUAL TABLE ft USING fts5(body, title);
CREATE TABLE doc(id INTEGER PRIMARY KEY, body);
CREATE VIRTUAL TABLE fx USING fts5(body, content='doc', content_rowid='id');
CREATE INDEX ix ON "we ""ird"("c'q");
CREATE VIEW v AS SELECT * FROM s;
CREATE TRIGGER tr AFTER INSERT ON s BEGIN UPDATE w SET v = v || 'x'; END;
CREATE TABLE nr(a, b);
INSERT INTO "we ""ird"("a b", "c'q") VALUES ('a' || char(0) || 'b', 9223372036854775807),
    (NULL, -9223372036854775808);
INSERT INTO s(x) VALUES (1e999), (-1e999), (0.1), (-0.0), (X'00FF'), ('t'), (5e-324);
DELETE FROM s WHERE id = 3;
INSERT INTO w VALUES ('k1', 'v1'), ('k2', NULL);
INSERT INTO ft(rowid, body, title) VALUES (10, 'hello world', 'greet'), (20, 'bye', NULL);
INSERT INTO doc VALUES (1, 'alpha beta'), (2, 'gamma');
INSERT INTO fx(fx) VALUES ('rebuild');
INSERT INTO nr VALUES (1, 2), (3, 4), (CAST(X'FF61' AS TEXT), 1);
DELETE FROM nr WHERE a = 1;
ANALYZE;
"""


@pytest.fixture
def database(tmp_path: Path, make_db: MakeDb) -> Path:
    return make_db(tmp_path, EVERY_CASE, name="every.db")


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="no sqlite3 shell")
def test_the_sqlite3_shell_rebuilds_the_same_database_from_the_sql_dump(
    tmp_path: Path, database: Path, run_cli: RunCli
) -> None:
    dump = tmp_path / "every.sql"
    result = run_cli("backup", database, "--format", "sql", "-o", dump)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    rebuilt = tmp_path / "rebuilt.db"
    with dump.open("rb") as script:
        loaded = subprocess.run(["sqlite3", str(rebuilt)], stdin=script, capture_output=True)
    assert loaded.returncode == 0 and loaded.stderr == b"", loaded.stderr
    assert snapshot(rebuilt) == snapshot(database)
    text = dump.read_text()
    assert "CREATE TABLE 'ft_data'" not in text and 'INTO "ft_data"' not in text  # shadows
    assert 'INSERT INTO "fx"("fx") VALUES(\'rebuild\');' in text
    assert '"g"' not in text  # the generated column is computed, not inserted


def test_the_json_backup_is_strict_json_with_the_schema_and_every_row(
    tmp_path: Path, database: Path, run_cli: RunCli
) -> None:
    target = tmp_path / "every.json"
    result = run_cli("backup", database, "--format", "json", "-o", target)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    def refuse(token: str) -> None:
        raise AssertionError(f"not RFC 8259: {token}")

    document = json.loads(target.read_text(), parse_constant=refuse)
    assert document["pragmas"] == {"user_version": 42, "application_id": 1234, "encoding": "UTF-8"}
    assert {e["name"] for e in document["schema"]} >= {"s", "ft", "fx", "ix", "v", "tr"}
    tables = {t["name"]: t for t in document["tables"]}
    assert tables["s"]["rows"][0] == {"id": 1, "x": {"$real": "Infinity"}}
    assert {"id": 5, "x": {"$blob": "00ff"}} in tables["s"]["rows"]
    assert tables['we "ird']["rows"][0]["a b"] == "a\x00b"
    assert tables["fx"]["load"] == "rebuild" and tables["fx"]["rows"] == []
    conn = sqlite3.connect(database)
    counted = (
        sum(
            conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in ("s", "w", "doc", "nr", "ft", "sqlite_sequence", "sqlite_stat1")
        )
        + 2
    )
    conn.close()
    assert sum(len(t["rows"]) for t in document["tables"]) == counted
