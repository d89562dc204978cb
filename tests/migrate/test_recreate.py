"""Tests `dbinspect migrate recreate`: the files it writes, applied and reverted for real."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from migrate_helpers import write_folder

from dbinspect.backends import open_backend
from dbinspect.cli_migrate import migrate
from dbinspect.config import SqlxSettings
from dbinspect.errors import DbInspectError, MigrationFailedError
from dbinspect.migrate.recreate import parse_create_table, tokenize
from dbinspect.migrate.runner import revert_migrations, run_migrations
from dbinspect.migrate.source import load_migrations
from dbinspect.migrate.statements import split_statements
from dbinspect.ops.drift import compare_schemas
from dbinspect.ops.replay import replay_migrations
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import DatabaseUrl, parse_url

# A parent with AUTOINCREMENT, an index, a trigger, a generated column and a view; a
# child that cascades on delete and one with a foreign key the other way; a view on a view.
BASE = """
CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE post (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  author_id INTEGER REFERENCES author(id),
  title TEXT NOT NULL,
  score REAL DEFAULT 0,
  note TEXT,
  slug TEXT GENERATED ALWAYS AS (lower(title)) VIRTUAL,
  CHECK (score >= 0)
);
CREATE INDEX post_title ON post(title);
CREATE UNIQUE INDEX post_note ON post(note) WHERE note IS NOT NULL;
CREATE TABLE comment (
  id INTEGER PRIMARY KEY,
  post_id INTEGER NOT NULL REFERENCES post(id) ON DELETE CASCADE,
  body TEXT
);
CREATE TABLE audit (post_id INTEGER, what TEXT);
CREATE TRIGGER post_audit AFTER INSERT ON post BEGIN
  INSERT INTO audit (post_id, what) VALUES (new.id, new.title);
END;
CREATE VIEW post_titles AS SELECT id, title, score FROM post;
CREATE VIEW top_titles AS SELECT id FROM post_titles WHERE score > 1;
"""
BASE_DOWN = """
DROP VIEW top_titles; DROP VIEW post_titles; DROP TABLE audit; DROP TABLE comment;
DROP TABLE post; DROP TABLE author;
"""
DATA = """
INSERT INTO author VALUES (1, 'ann'), (2, 'bob');
INSERT INTO post (author_id, title, score, note) VALUES
  (1, 'First', 1.5, 'n1'), (2, 'Second', 2, NULL), (1, 'Third', 3, 'n3'), (2, 'Gone', 0, NULL);
DELETE FROM post WHERE title = 'Gone';
INSERT INTO comment (post_id, body) VALUES (1, 'a'), (1, 'b'), (2, 'c'), (3, 'd');
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the base migration applied by dbinspect's runner, and rows."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:{tmp_path / 'app.db'}")
    write_folder(
        tmp_path / "migrations",
        {"0001_base.up.sql": BASE, "0001_base.down.sql": BASE_DOWN},
    )
    run_migrations(_url(tmp_path), tmp_path / "migrations")
    with _connect(tmp_path) as conn:
        conn.executescript(DATA)
    return tmp_path


def _url(root: Path) -> DatabaseUrl:
    return parse_url(f"sqlite:{root / 'app.db'}")


def _connect(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / "app.db", isolation_level=None)


def recreate(*args: str) -> Result:
    return CliRunner().invoke(migrate, ["recreate", *args])


def refusal(result: Result) -> str:
    """The error the command stops with (the entry point prints it as one line)."""
    assert result.exit_code == 1
    assert isinstance(result.exception, DbInspectError), result.exception
    return f"{result.exception.message} (hint: {result.exception.hint})"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tokens(sql: str) -> list[str]:
    """A statement's tokens, names unquoted and case-folded: equal for equal definitions."""
    return [t.name.casefold() if t.kind in ("word", "ident") else t.text for t in tokenize(sql)]


def table_shape(conn: sqlite3.Connection, table: str) -> dict[str, object]:
    """What defines a table: its columns, keys, indexes and constraints (not its spelling)."""
    t = _q(table)
    indexes = []
    for _, name, unique, origin, partial in conn.execute(f"PRAGMA index_list({t})").fetchall():
        columns = conn.execute(f"PRAGMA index_xinfo({_q(name)})").fetchall()
        indexes.append((unique, origin, partial, [c[1:] for c in columns]))
    sql = conn.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (table,)).fetchone()[0]
    parsed = parse_create_table(sql)
    return {
        "columns": conn.execute(f"PRAGMA table_xinfo({t})").fetchall(),
        "foreign_keys": [r[2:] for r in conn.execute(f"PRAGMA foreign_key_list({t})")],
        "indexes": sorted(indexes, key=repr),
        "constraints": [_tokens(p.text) for p in parsed.constraints if p.kind == "check"]
        + [_tokens(p.text) for c in parsed.columns for p in c.parts if p.kind == "check"],
        "strict": parsed.strict,
        "without_rowid": parsed.without_rowid,
    }


def schema_shape(conn: sqlite3.Connection) -> dict[str, object]:
    """Every table's shape and every other object's tokens."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_schema"
        " WHERE name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations' ORDER BY name"
    ).fetchall()
    shape: dict[str, object] = {}
    for kind, name, sql in rows:
        shape[name] = table_shape(conn, name) if kind == "table" else (kind, _tokens(sql or ""))
    return shape


def contents(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name != '_sqlx_migrations'"
        )
    ]
    return {t: conn.execute(f"SELECT * FROM {_q(t)} ORDER BY 1, 2").fetchall() for t in tables}


def sequence(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT name, seq FROM sqlite_sequence ORDER BY name").fetchall()


def hand_written(statements: str) -> dict[str, object]:
    conn = sqlite3.connect(":memory:")
    conn.executescript(statements)
    try:
        return schema_shape(conn)
    finally:
        conn.close()


def created(result: Result) -> tuple[Path, Path]:
    assert result.exit_code == 0, result.output
    paths = [
        Path(line.removeprefix("Creating "))
        for line in result.output.splitlines()
        if line.startswith("Creating ")
    ]
    up, down = sorted(paths, key=lambda p: p.name.endswith(".down.sql"))
    return up, down


def drift(root: Path) -> list[object]:
    """What `dbinspect check` reports as drift from migration 1 (the others reverted)."""

    async def read() -> list[object]:
        replay = await replay_migrations(
            "sqlite", root / "migrations", SqlxSettings(), versions={1}
        )
        backend = await open_backend(_url(root))
        try:
            live = await backend.schema()
        finally:
            await backend.aclose()
        return list(compare_schemas(replay.schema, live, "sqlite"))

    return asyncio.run(read())


def apply_and_revert(root: Path, *options: str) -> tuple[dict[str, object], dict[str, object]]:
    """Create the pair, apply it, revert it; the schema shapes after up and after down."""
    with _connect(root) as conn:
        before, rows_before, seq_before = schema_shape(conn), contents(conn), sequence(conn)
    up, down = created(recreate(*options))
    assert up.name == "0002_recreate_post.up.sql"
    assert down.name == "0002_recreate_post.down.sql"
    run_migrations(_url(root), root / "migrations")
    with _connect(root) as conn:
        after_up = schema_shape(conn)
        assert sequence(conn) == seq_before  # AUTOINCREMENT's high-water mark kept
        assert len(contents(conn)["comment"]) == 4  # ON DELETE CASCADE children all kept
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    revert_migrations(_url(root), root / "migrations")
    assert drift(root) == []  # `check` finds the reverted table as the migrations build it
    with _connect(root) as conn:
        assert schema_shape(conn) == before
        after_down = contents(conn)
        assert sequence(conn) == seq_before
        lossless = "--drop" not in options
        if lossless:
            assert after_down == rows_before
        assert len(after_down["comment"]) == 4
    return after_up, before


POST = """
CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE comment (
  id INTEGER PRIMARY KEY,
  post_id INTEGER NOT NULL REFERENCES post(id) ON DELETE CASCADE,
  body TEXT
);
CREATE TABLE audit (post_id INTEGER, what TEXT);
CREATE TABLE post ({columns}){options};
CREATE INDEX post_title ON post({title});
CREATE UNIQUE INDEX post_note ON post(note) WHERE note IS NOT NULL;
CREATE TRIGGER post_audit AFTER INSERT ON post BEGIN
  INSERT INTO audit (post_id, what) VALUES (new.id, new.{title});
END;
CREATE VIEW post_titles AS SELECT id, {title}, score FROM post;
CREATE VIEW top_titles AS SELECT id FROM post_titles WHERE score > 1;
"""
COLUMNS = [
    "id INTEGER PRIMARY KEY AUTOINCREMENT",
    "author_id INTEGER REFERENCES author(id)",
    "title TEXT NOT NULL",
    "score REAL DEFAULT 0",
    "note TEXT",
    "slug TEXT GENERATED ALWAYS AS (lower(title)) VIRTUAL",
    "CHECK (score >= 0)",
]


def expected(columns: list[str], *, title: str = "title", options: str = "") -> dict[str, object]:
    shape = hand_written(POST.format(columns=", ".join(columns), title=title, options=options))
    return shape


def _with(columns: list[str], index: int, text: str) -> list[str]:
    return [text if i == index else c for i, c in enumerate(columns)]


@pytest.mark.parametrize(
    ("options", "columns"),
    [
        (("--type", "score=NUMERIC"), _with(COLUMNS, 3, "score NUMERIC DEFAULT 0")),
        (("--not-null", "score"), _with(COLUMNS, 3, "score REAL DEFAULT 0 NOT NULL")),
        (("--nullable", "title"), _with(COLUMNS, 2, "title TEXT")),
        (("--default", "note='x'"), _with(COLUMNS, 4, "note TEXT DEFAULT 'x'")),
        (("--default", "score=1 + 1"), _with(COLUMNS, 3, "score REAL DEFAULT (1 + 1)")),
        (("--drop-default", "score"), _with(COLUMNS, 3, "score REAL")),
        (("--drop-fk", "author_id"), _with(COLUMNS, 1, "author_id INTEGER")),
        (("--unique", "title,note"), [*COLUMNS, "UNIQUE (title, note)"]),
        (("--check", "length(title) > 0"), [*COLUMNS, "CHECK (length(title) > 0)"]),
        (
            ("--add", "rank INTEGER NOT NULL DEFAULT 5"),
            [*COLUMNS[:6], "rank INTEGER NOT NULL DEFAULT 5", COLUMNS[6]],
        ),
        (
            ("--column-order", "title,id"),
            [COLUMNS[2], COLUMNS[0], COLUMNS[1], *COLUMNS[3:]],
        ),
        (
            ("--type", "author_id=INT", "--not-null", "author_id", "--check", "id > 0"),
            [
                *_with(COLUMNS, 1, "author_id INT REFERENCES author(id) NOT NULL"),
                "CHECK (id > 0)",
            ],
        ),
    ],
)
def test_option_gives_the_hand_written_table_and_reverts(
    project: Path, options: tuple[str, ...], columns: list[str]
) -> None:
    after_up, _ = apply_and_revert(project, "post", *options)
    assert after_up == expected(columns)


def test_rename_rewrites_index_trigger_and_views(project: Path) -> None:
    after_up, _ = apply_and_revert(project, "post", "--rename", "title=headline")
    columns = [
        *COLUMNS[:2],
        "headline TEXT NOT NULL",
        *COLUMNS[3:5],
        "slug TEXT GENERATED ALWAYS AS (lower(headline)) VIRTUAL",
        COLUMNS[6],
    ]
    assert after_up == expected(columns, title="headline")


def test_drop_column_warns_and_down_says_so(project: Path) -> None:
    result = recreate("author", "--drop", "name", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "warning: the change loses data: column name is dropped" in result.output
    assert "-- The up file loses data, so this file cannot bring all of it back:" in result.output


def test_drop_column_used_by_the_table_or_an_index_is_refused_by_name(project: Path) -> None:
    assert "used by column slug" in refusal(recreate("post", "--drop", "title"))
    assert "used by CHECK (score >= 0)" in refusal(recreate("post", "--drop", "score"))
    message = refusal(recreate("post", "--drop", "note"))
    assert "index 'post_note' may use column 'note'" in message
    message = refusal(recreate("author", "--drop", "id"))
    assert "a foreign key of table 'post' references column 'id'" in message


def test_drop_column_applies_and_down_restores_the_schema(project: Path) -> None:
    with _connect(project) as conn:
        conn.execute("DROP INDEX post_note")
    # Drift: the live table differs from what the migrations build.
    refused = refusal(recreate("post", "--drop", "note"))
    assert "index post_note is missing; the database drifted" in refused
    assert "--from-live" in refused
    result = recreate("post", "--drop", "note", "--from-live")
    up, down = created(result)
    assert "the live database (--from-live)" in up.read_text()
    assert "column note is dropped" in down.read_text()
    with _connect(project) as conn:
        rows = contents(conn)["post"]
    run_migrations(_url(project), project / "migrations")
    with _connect(project) as conn:
        assert [c[1] for c in conn.execute("PRAGMA table_xinfo(post)")] == [
            "id",
            "author_id",
            "title",
            "score",
            "slug",
        ]
        assert len(contents(conn)["comment"]) == 4
    revert_migrations(_url(project), project / "migrations")
    with _connect(project) as conn:
        restored = contents(conn)["post"]
    assert [r[:3] for r in restored] == [r[:3] for r in rows]
    assert all(r[4] is None for r in restored)  # the values of note are gone


def test_pk_that_children_cannot_reference_is_refused(project: Path) -> None:
    message = refusal(recreate("post", "--pk", "id,title"))
    assert 'foreign key mismatch - "comment" referencing "post"' in message
    assert "AUTOINCREMENT needs a rowid table" in refusal(recreate("post", "--without-rowid"))


def test_strict(project: Path) -> None:
    after_up, _ = apply_and_revert(project, "post", "--strict")
    assert after_up == expected(COLUMNS, options=" STRICT")
    # A narrowing change warns, and its down file says what it cannot bring back.
    result = recreate("post", "--type", "score=INTEGER", "--dry-run", "--from-live")
    assert "column score changes from REAL to INTEGER affinity" in result.output
    assert "-- The up file loses data" in result.output


def test_pk_and_without_rowid(project: Path) -> None:
    with _connect(project) as conn:
        before = schema_shape(conn), contents(conn)
    created(recreate("author", "--pk", "name", "--without-rowid", "--unique", "id"))
    run_migrations(_url(project), project / "migrations")
    with _connect(project) as conn:
        shape = schema_shape(conn)
        assert (
            shape["author"]
            == hand_written(
                "CREATE TABLE author (id INTEGER, name TEXT NOT NULL, PRIMARY KEY (name),"
                " UNIQUE (id)) WITHOUT ROWID"
            )["author"]
        )
        assert contents(conn)["author"] == before[1]["author"]
    revert_migrations(_url(project), project / "migrations")
    with _connect(project) as conn:
        assert (schema_shape(conn), contents(conn)) == before


def test_add_fk_violation_fails_the_file_and_changes_nothing(project: Path) -> None:
    with _connect(project) as conn:
        conn.execute("INSERT INTO audit VALUES (99, 'orphan')")
        before = contents(conn), schema_shape(conn)
    up, _ = created(recreate("audit", "--add-fk", "post_id=post(id)"))
    with pytest.raises(MigrationFailedError, match="foreign key violations"):
        run_migrations(_url(project), project / "migrations")
    with _connect(project) as conn:
        assert (contents(conn), schema_shape(conn)) == before
        assert not conn.in_transaction
    # The same file sent the way sqlx sends a -- no-transaction file: statement after
    # statement on one plain connection, stopping at the first error.
    with _connect(project) as conn:
        failed_at = None
        for statement in split_statements(up.read_text()):
            try:
                conn.execute(statement.sql)
            except sqlite3.Error as error:
                failed_at = (statement.body, str(error))
                break
        assert failed_at is not None and "foreign key violations" in failed_at[1]
        assert failed_at[0].startswith("INSERT INTO temp.")
        assert not conn.in_transaction  # RAISE(ROLLBACK) ended the file's transaction
        assert (contents(conn), schema_shape(conn)) == before


def test_foreign_keys_pointing_in_both_directions_survive(project: Path) -> None:
    after_up, _ = apply_and_revert(project, "post", "--type", "id=INTEGER", "--rename", "note=memo")
    with_memo = [c.replace("note", "memo") for c in COLUMNS]
    shape = hand_written(
        POST.format(columns=", ".join(with_memo), title="title", options="").replace(
            "post(note) WHERE note", "post(memo) WHERE memo"
        )
    )
    assert after_up == shape


def test_dry_run_prints_both_files_and_writes_nothing(project: Path) -> None:
    before = sorted(p.name for p in (project / "migrations").iterdir())
    result = recreate("post", "--type", "score=NUMERIC", "--dry-run")
    assert result.exit_code == 0
    assert "0002_recreate_post.up.sql" in result.output
    assert "0002_recreate_post.down.sql" in result.output
    assert result.output.count("-- no-transaction") == 2
    assert "PRAGMA foreign_keys = OFF;" in result.output
    assert sorted(p.name for p in (project / "migrations").iterdir()) == before


def test_pending_migration_is_refused(project: Path) -> None:
    write_folder(project / "migrations", {"0002_more.up.sql": "ALTER TABLE post ADD x INT;"})
    (project / "migrations" / "0002_more.down.sql").write_text("ALTER TABLE post DROP x;")
    result = recreate("post", "--type", "x=TEXT")
    assert "migrations 2 are pending" in refusal(result)


def test_hostile_names_are_quoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:{tmp_path / 'app.db'}")
    table = 'we"ird; DROP TABLE x; --'
    column = "co]l\n'x"
    base = f"CREATE TABLE {_q(table)} ({_q(column)} TEXT, n INT);"
    write_folder(tmp_path / "migrations", {"0001_b.up.sql": base, "0001_b.down.sql": ""})
    run_migrations(_url(tmp_path), tmp_path / "migrations")
    with _connect(tmp_path) as conn:
        conn.execute(f"INSERT INTO {_q(table)} VALUES ('v', 1)")
    result = recreate(table, "--type", f"{column}=BLOB", "--rename", "n=m m")
    up, _ = created(result)
    assert up.name == "0002_recreate_we_ird_DROP_TABLE_x.up.sql"
    run_migrations(_url(tmp_path), tmp_path / "migrations")
    with _connect(tmp_path) as conn:
        assert [c[1:3] for c in conn.execute(f"PRAGMA table_info({_q(table)})")] == [
            (column, "BLOB"),
            ("m m", "INT"),
        ]
        assert conn.execute(f"SELECT * FROM {_q(table)}").fetchall() == [(b"v", 1)]


def test_unknown_column_is_one_line_error(project: Path) -> None:
    result = recreate("post", "--type", "nope=INT")
    assert refusal(result).startswith("--type: table 'post' has no column 'nope'")


# Lossless options, each undone exactly by its down file.
LOSSLESS = st.sampled_from(
    [
        ("--type", "score=FLOAT"),
        ("--type", "author_id=TEXT"),
        ("--nullable", "title"),
        ("--not-null", "title"),
        ("--default", "note='d'"),
        ("--check", "score < 100"),
        ("--unique", "id,title"),
        ("--column-order", "note,title"),
        ("--rename", "note=memo"),
        ("--add", "extra TEXT"),
    ]
)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(st.lists(LOSSLESS, min_size=1, max_size=3, unique=True))
def test_lossless_sequences_revert_to_the_original(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    steps: list[tuple[str, str]],
) -> None:
    root = tmp_path_factory.mktemp("prop")
    monkeypatch.chdir(root)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:{root / 'app.db'}")
    write_folder(root / "migrations", {"0001_base.up.sql": BASE, "0001_base.down.sql": BASE_DOWN})
    run_migrations(_url(root), root / "migrations")
    with _connect(root) as conn:
        conn.executescript(DATA)
        before = schema_shape(conn), contents(conn), sequence(conn)
    for option, value in steps:
        result = recreate("post", option, value)
        assert result.exit_code == 0, result.output
        run_migrations(_url(root), root / "migrations")
    revert_migrations(_url(root), root / "migrations", target_version=1)
    with _connect(root) as conn:
        assert (schema_shape(conn), contents(conn), sequence(conn)) == before


def test_up_through_a_plain_connection_with_foreign_keys_on_keeps_cascade_children(
    project: Path,
) -> None:
    """sqlx turns foreign keys on and sends a -- no-transaction file statement by statement."""
    up, _ = created(recreate("post", "--type", "score=NUMERIC", "--rename", "note=memo"))
    with _connect(project) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        comments = contents(conn)["comment"]
        for statement in split_statements(up.read_text()):
            conn.execute(statement.sql)
        assert not conn.in_transaction
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert contents(conn)["comment"] == comments
        assert [c[1] for c in conn.execute("PRAGMA table_info(post)")][4] == "memo"
        conn.execute("DELETE FROM post WHERE id = 1")  # the cascade still works
        assert len(contents(conn)["comment"]) == 2


def test_copy_refused_by_the_new_definition_rolls_back(project: Path) -> None:
    with _connect(project) as conn:
        before = contents(conn), schema_shape(conn)
    up, _ = created(recreate("post", "--not-null", "note"))  # two rows hold NULL
    with pytest.raises(MigrationFailedError, match="NOT NULL constraint failed"):
        run_migrations(_url(project), project / "migrations")
    with _connect(project) as conn:
        assert (contents(conn), schema_shape(conn)) == before
        for statement in split_statements(up.read_text()):
            try:
                conn.execute(statement.sql)
            except sqlite3.IntegrityError:
                break
        assert not conn.in_transaction  # OR ROLLBACK ended the transaction itself
        assert (contents(conn), schema_shape(conn)) == before


TRICKY = """CREATE TABLE "t t" (
  -- a comment, and another /* here */
  "key" TEXT COLLATE NOCASE CONSTRAINT k_nn NOT NULL ON CONFLICT ABORT,
  [amount] DOUBLE PRECISION DEFAULT -1.5 CHECK (amount <> 0),
  `size` VARCHAR(10, 2) DEFAULT 'it''s',
  stamp TEXT DEFAULT CURRENT_TIMESTAMP,
  ref INTEGER CONSTRAINT fk_ref REFERENCES "o"(id) ON DELETE SET NULL ON UPDATE CASCADE
    DEFERRABLE INITIALLY DEFERRED,
  total REAL AS (amount * 2) STORED,
  blob_col BLOB DEFAULT x'00ff',
  CONSTRAINT pk PRIMARY KEY ("key", amount) ON CONFLICT REPLACE,
  UNIQUE (size COLLATE NOCASE DESC),
  CONSTRAINT named_check CHECK (length("key") > 0),
  FOREIGN KEY (ref, size) REFERENCES o (id, name) MATCH SIMPLE
) WITHOUT ROWID, STRICT"""


def test_parser_reads_every_clause_and_renders_an_equal_table() -> None:
    parsed = parse_create_table(TRICKY.replace(", STRICT", ""))
    assert [c.name for c in parsed.columns] == [
        "key",
        "amount",
        "size",
        "stamp",
        "ref",
        "total",
        "blob_col",
    ]
    assert parsed.columns[1].type == "DOUBLE PRECISION"
    assert [p.kind for p in parsed.columns[0].parts] == ["collate", "notnull"]
    assert [p.kind for p in parsed.constraints] == ["pk", "unique", "check", "fk"]
    assert parsed.constraints[0].columns == ("key", "amount")
    assert parsed.without_rowid and not parsed.strict
    rebuilt = parsed.copy().render("t t")
    original = hand_written(TRICKY.replace(", STRICT", "") + ";")
    again = hand_written(rebuilt + ";")
    assert again == original
    assert parse_create_table(TRICKY).strict


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (a INT PRIMARY KEY WHATEVER)",
        "CREATE TABLE t (a INT, UNIQUE (a), b INT)",
        "CREATE TABLE t (a 'unterminated)",
        "CREATE TABLE t AS SELECT 1",
        "CREATE VIEW v AS SELECT 1",
    ],
)
def test_parser_refuses_what_it_does_not_know(sql: str) -> None:
    with pytest.raises(DbInspectError):
        parse_create_table(sql)


# Lossy options: checked on the schema alone (their down files cannot bring values back).
LOSSY = st.sampled_from(
    [
        ("--drop", "author_id"),
        ("--type", "score=INTEGER"),
        ("--type", "title=BLOB"),
        ("--drop-fk", "author_id"),
    ]
)


@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(st.lists(st.one_of(LOSSY, LOSSLESS), min_size=1, max_size=3, unique=True))
def test_any_sequence_reverts_to_the_original_schema(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    steps: list[tuple[str, str]],
) -> None:
    root = tmp_path_factory.mktemp("lossy")
    monkeypatch.chdir(root)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:{root / 'app.db'}")
    write_folder(root / "migrations", {"0001_base.up.sql": BASE, "0001_base.down.sql": BASE_DOWN})
    run_migrations(_url(root), root / "migrations")
    with _connect(root) as conn:
        conn.executescript(DATA)
        before = schema_shape(conn), sequence(conn)
    for option, value in steps:
        result = recreate("post", option, value)
        if result.exit_code != 0:  # e.g. a column an earlier step dropped
            assert isinstance(result.exception, DbInspectError), result.exception
            continue
        run_migrations(_url(root), root / "migrations")
    revert_migrations(_url(root), root / "migrations", target_version=1)
    with _connect(root) as conn:
        assert (schema_shape(conn), sequence(conn)) == before
        assert len(contents(conn)["comment"]) == 4


def test_add_fk_and_no_strict(project: Path) -> None:
    with _connect(project) as conn:
        conn.execute("DELETE FROM audit")
        conn.execute("INSERT INTO audit VALUES (1, 'x'), (3, 'y')")
        before = schema_shape(conn), contents(conn)
    up, _ = created(recreate("audit", "--add-fk", "post_id=post(id) ON DELETE CASCADE"))
    assert load_migrations(project / "migrations")[-1].no_transaction
    assert up.read_text().startswith("-- no-transaction\n")
    run_migrations(_url(project), project / "migrations")
    with _connect(project) as conn:
        assert (
            schema_shape(conn)["audit"]
            == hand_written(
                "CREATE TABLE post (id INTEGER PRIMARY KEY);"
                "CREATE TABLE audit (post_id INTEGER, what TEXT,"
                " FOREIGN KEY (post_id) REFERENCES post(id) ON DELETE CASCADE)"
            )["audit"]
        )
        assert contents(conn)["audit"] == before[1]["audit"]
    revert_migrations(_url(project), project / "migrations")
    with _connect(project) as conn:
        assert (schema_shape(conn), contents(conn)) == before
    # --no-strict on a STRICT table.
    write_folder(
        project / "migrations",
        {"0003_s.up.sql": "CREATE TABLE s (a INTEGER, b ANY) STRICT;", "0003_s.down.sql": ""},
    )
    (project / "migrations" / "0002_recreate_audit.up.sql").unlink()
    (project / "migrations" / "0002_recreate_audit.down.sql").unlink()
    run_migrations(_url(project), project / "migrations")
    result = recreate("s", "--no-strict")
    assert "column b changes from ANY to NUMERIC affinity" in result.output
    created(result)
    run_migrations(_url(project), project / "migrations")
    with _connect(project) as conn:
        assert schema_shape(conn)["s"] == hand_written("CREATE TABLE s (a INTEGER, b ANY)")["s"]
