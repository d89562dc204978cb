"""Property: every backup format, restored (and the SQL dump run by the sqlite3 shell),
gives the same database, over random schemas and values."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbinspect.ops.backup import run_backup
from dbinspect.ops.restore import run_restore
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url
from ops.dbcompare import quote, snapshot

NAMES = st.text(alphabet="ab \"'`[]é_1", min_size=1, max_size=6).filter(
    lambda n: not n.lower().startswith("sqlite_")
)
VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([2**63 - 1, -(2**63), 0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("inf"), float("-inf"), float("nan"), -0.0, 5e-324]),
    st.text(max_size=8),
    st.sampled_from(["a\x00b", "\x00", "'", '"', "\u2028"]),
    st.binary(max_size=8),
)
TYPES = st.sampled_from(["", "INTEGER", "TEXT", "REAL", "BLOB", "NUMERIC", "ANY"])


@st.composite
def tables(draw: st.DrawFn, name: str) -> tuple[str, list[str]]:
    """A CREATE TABLE (plain, STRICT and/or WITHOUT ROWID, maybe a generated column)
    and the INSERTs of its rows (values as parameters)."""
    columns = draw(st.lists(NAMES, min_size=1, max_size=4, unique_by=str.lower))
    strict = draw(st.booleans())
    without_rowid = draw(st.booleans())
    kinds = ["ANY" if strict else draw(TYPES) for _ in columns]
    parts = [f"{quote(c)} {k}".strip() for c, k in zip(columns, kinds, strict=True)]
    if without_rowid:
        parts[0] += " PRIMARY KEY"
    if draw(st.booleans()):
        parts.append(f'"gen col" {"ANY" if strict else ""} AS (typeof({quote(columns[0])}))')
    options = ", ".join(o for o, on in (("STRICT", strict), ("WITHOUT ROWID", without_rowid)) if on)
    create = f"CREATE TABLE {quote(name)} ({', '.join(parts)}) {options}"
    rows = draw(st.lists(st.tuples(*[VALUES] * len(columns)), max_size=6))
    if without_rowid:  # a unique, non-NULL key
        rows = [(f"k{i}", *row[1:]) for i, row in enumerate(rows)]
    return create, rows  # type: ignore[return-value]


@st.composite
def databases(draw: st.DrawFn) -> tuple[list[tuple[str, str, list[tuple[object, ...]]]], int, bool]:
    names = draw(st.lists(NAMES, min_size=1, max_size=3, unique_by=str.lower))
    made = []
    for name in names:
        create, rows = draw(tables(name))
        made.append((name, create, rows))
    return made, draw(st.integers(-(2**31), 2**31 - 1)), draw(st.booleans())


def build(
    path: Path, spec: tuple[list[tuple[str, str, list[tuple[object, ...]]]], int, bool]
) -> None:
    made, user_version, fts = spec
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(f"PRAGMA user_version = {user_version}")
        conn.execute(f"PRAGMA application_id = {user_version // 3}")
        for name, create, rows in made:
            conn.execute(create)
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({quote(name)})")]
            marks = ", ".join("?" * len(rows[0])) if rows else ""
            names = ", ".join(quote(c) for c in columns[: len(rows[0])]) if rows else ""
            for row in rows:
                conn.execute(f"INSERT INTO {quote(name)}({names}) VALUES ({marks})", row)
        if fts:
            conn.execute('CREATE VIRTUAL TABLE "f t" USING fts5(body, "ti""tle")')
            conn.execute(
                """INSERT INTO "f t" VALUES ('hello world', 'a'), ('x' || char(0), NULL)"""
            )
            conn.execute("CREATE TABLE auto(id INTEGER PRIMARY KEY AUTOINCREMENT, v)")
            conn.execute("INSERT INTO auto(v) VALUES (1), (2)")
            conn.execute("DELETE FROM auto WHERE id = 2")
    finally:
        conn.close()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(databases())
def test_every_format_round_trips(
    spec: tuple[list[tuple[str, str, list[tuple[object, ...]]]], int, bool],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        original = tmp / "original.db"
        build(original, spec)
        expected = snapshot(original)
        url = parse_url(str(original))
        for fmt in ("sqlite", "sql", "json"):
            backup = tmp / f"backup.{fmt}"
            run_backup(url, fmt, backup)  # type: ignore[arg-type]
            restored = tmp / f"restored-{fmt}.db"
            run_restore(backup, parse_url(str(restored)), force=False)
            assert snapshot(restored) == expected, fmt
        if shutil.which("sqlite3"):
            shell = tmp / "shell.db"
            with (tmp / "backup.sql").open("rb") as dump:
                done = subprocess.run(["sqlite3", str(shell)], stdin=dump, capture_output=True)
            assert done.returncode == 0 and not done.stderr, done.stderr
            assert snapshot(shell) == expected
