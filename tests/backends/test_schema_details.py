"""Tests the schema reader: columns, keys, indexes, kinds, internal objects and odd names."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbinspect.backends import SqliteBackend, quote_identifier
from dbinspect.backends.sqlite_schema import partial_where
from dbinspect.models import Schema
from dbinspect.ops.schema_dump import schema_to_json, schema_to_sql
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
CHINOOK = CORPUS / "chinook-database" / "ChinookDatabase" / "DataSources" / "Chinook_Sqlite.sqlite"
SQLX_DB = CORPUS / "sqlx" / "tests" / "sqlite" / "sqlite.db"

RICH = """
CREATE TABLE authors(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL DEFAULT 'anon',
    born DATE,
    score REAL DEFAULT (1.5 * 2),
    email TEXT UNIQUE
);
CREATE TABLE books(
    author_id INTEGER NOT NULL REFERENCES authors ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    title TEXT COLLATE NOCASE,
    price_cents INTEGER CHECK (price_cents >= 0),
    price REAL GENERATED ALWAYS AS (price_cents / 100.0) VIRTUAL,
    slug TEXT AS (lower(title)) STORED,
    PRIMARY KEY (seq, author_id)
);
CREATE TABLE reviews(
    id INTEGER PRIMARY KEY,
    book_author INTEGER,
    book_seq INTEGER,
    body TEXT,
    FOREIGN KEY (book_seq, book_author) REFERENCES books(seq, author_id)
        ON UPDATE SET NULL ON DELETE RESTRICT
) STRICT;
CREATE TABLE tags(name TEXT PRIMARY KEY, n INT) WITHOUT ROWID;
CREATE INDEX books_title ON books(title DESC, author_id);
CREATE UNIQUE INDEX reviews_partial ON reviews(book_seq) WHERE body IS NOT NULL AND id > 10;
CREATE INDEX reviews_expr ON reviews(lower(body), id);
CREATE VIEW cheap_books AS SELECT title, price FROM books WHERE price < 10;
CREATE TRIGGER authors_touch AFTER UPDATE ON authors BEGIN SELECT 1; END;
CREATE TRIGGER books_check BEFORE INSERT ON books BEGIN SELECT 2; END;
CREATE VIRTUAL TABLE notes USING fts5(body, tag);
INSERT INTO authors(name) VALUES ('a');
ANALYZE;
"""


async def load(path: Path) -> Schema:
    opened = await SqliteBackend.open(parse_url(str(path)))
    try:
        return await opened.schema()
    finally:
        await opened.aclose()


@pytest.fixture
async def rich(tmp_path: Path, make_db: Callable[..., Path]) -> Schema:
    return await load(make_db(tmp_path, RICH))


def test_partial_where_finds_the_top_level_clause() -> None:
    assert partial_where("CREATE INDEX i ON t(x)") is None
    assert partial_where(None) is None
    assert partial_where("CREATE INDEX i ON t(x) WHERE x > 0") == "x > 0"
    assert partial_where("CREATE INDEX i ON t(x) where x > 0;") == "x > 0"
    assert partial_where('CREATE INDEX "where" ON "t where"("where") WHERE y') == "y"
    assert partial_where("CREATE INDEX [a where] ON t(x) WHERE y = 'b WHERE c'") == (
        "y = 'b WHERE c'"
    )
    assert partial_where("CREATE INDEX i ON t(x, (y WHERE)) WHERE z") == "z"
    assert partial_where("CREATE INDEX nowhere ON t(somewhere_col)") is None


def test_partial_where_skips_comments() -> None:
    assert partial_where("CREATE INDEX i ON t(x) /* where */ WHERE y > 1") == "y > 1"
    assert partial_where("CREATE INDEX i ON t(x) -- where it goes\nWHERE y > 1") == "y > 1"
    assert partial_where("CREATE INDEX i ON t(x) -- no where clause") is None


async def test_table_columns(rich: Schema) -> None:
    authors = rich.get("authors")
    assert authors is not None and authors.kind == "table"
    columns = {c.name: c for c in authors.columns}
    assert [c.name for c in authors.columns] == ["id", "name", "born", "score", "email"]
    assert (columns["id"].type, columns["id"].pk, columns["id"].not_null) == ("INTEGER", 1, False)
    assert (columns["name"].not_null, columns["name"].default) == (True, "'anon'")
    assert columns["score"].default == "1.5 * 2"
    assert columns["born"].default is None
    assert columns["born"].type == "DATE"
    assert all(c.hidden == 0 and c.generated is None for c in authors.columns)


async def test_composite_primary_key_and_generated_columns(rich: Schema) -> None:
    books = rich.get("books")
    assert books is not None
    columns = {c.name: c for c in books.columns}
    assert (columns["seq"].pk, columns["author_id"].pk, columns["title"].pk) == (1, 2, 0)
    assert (columns["price"].hidden, columns["price"].generated) == (2, "virtual")
    assert (columns["slug"].hidden, columns["slug"].generated) == (3, "stored")
    assert columns["title"].type == "TEXT"


async def test_foreign_keys(rich: Schema) -> None:
    books = rich.get("books")
    reviews = rich.get("reviews")
    assert books is not None and reviews is not None
    (implicit,) = books.foreign_keys
    assert (implicit.columns, implicit.ref_table, implicit.ref_columns) == (
        ("author_id",),
        "authors",
        (None,),
    )
    assert (implicit.on_delete, implicit.on_update) == ("CASCADE", "NO ACTION")
    (composite,) = reviews.foreign_keys
    assert composite.table == "reviews"
    assert composite.columns == ("book_seq", "book_author")
    assert composite.ref_columns == ("seq", "author_id")
    assert (composite.on_update, composite.on_delete) == ("SET NULL", "RESTRICT")
    assert [fk.table for fk in rich.referencing("BOOKS")] == ["reviews"]
    assert [fk.table for fk in rich.referencing("authors")] == ["books"]


async def test_indexes(rich: Schema) -> None:
    books = rich.get("books")
    reviews = rich.get("reviews")
    authors = rich.get("authors")
    assert books is not None and reviews is not None and authors is not None
    by_name = {ix.name: ix for obj in (books, reviews, authors) for ix in obj.indexes}
    title = by_name["books_title"]
    assert (title.columns, title.unique, title.origin, title.where) == (
        ("title", "author_id"),
        False,
        "c",
        None,
    )
    partial = by_name["reviews_partial"]
    assert (partial.unique, partial.columns) == (True, ("book_seq",))
    assert partial.where == "body IS NOT NULL AND id > 10"
    assert by_name["reviews_expr"].columns == ("<expr>", "id")
    assert by_name["sqlite_autoindex_books_1"].origin == "pk"
    assert by_name["sqlite_autoindex_books_1"].columns == ("seq", "author_id")
    email = by_name["sqlite_autoindex_authors_1"]
    assert (email.origin, email.unique, email.columns) == ("u", True, ("email",))


async def test_kinds_flags_and_internal_objects(rich: Schema) -> None:
    notes = rich.get("notes")
    assert notes is not None and notes.kind == "virtual table" and not notes.internal
    tags, reviews = rich.get("tags"), rich.get("reviews")
    assert tags is not None and tags.without_rowid and not tags.strict
    assert reviews is not None and reviews.strict and not reviews.without_rowid
    internal = {o.name for o in rich.objects if o.internal}
    assert {"sqlite_sequence", "sqlite_stat1", "sqlite_autoindex_authors_1"} <= internal
    assert {"notes_data", "notes_idx", "notes_config"} <= internal  # FTS5 shadow tables
    assert not any(o.name.startswith("sqlite_") for o in rich.objects if not o.internal)
    counts = rich.counts()
    assert (counts.tables, counts.views, counts.indexes, counts.triggers) == (4, 1, 3, 2)
    assert counts.virtual_tables == 1
    assert counts.internal == len(internal)
    assert [t.name for t in rich.belonging_to("authors", "trigger")] == ["authors_touch"]
    view = rich.get("cheap_books")
    assert view is not None and [c.name for c in view.columns] == ["title", "price"]
    autoindex = rich.get("sqlite_autoindex_authors_1")
    assert autoindex is not None and autoindex.sql is None and autoindex.table == "authors"


async def test_objects_are_sorted_by_kind_then_name(rich: Schema, tmp_path: Path) -> None:
    kinds = [o.kind for o in rich.objects]
    order = ["table", "virtual table", "view", "index", "trigger"]
    assert kinds == sorted(kinds, key=order.index)
    for kind in order:
        names = [o.name for o in rich.objects if o.kind == kind]
        assert names == sorted(names, key=lambda n: (n.casefold(), n))


async def test_dump_is_deterministic_and_replays(tmp_path: Path, make_db: Callable[..., Path]):
    path = make_db(tmp_path, RICH)
    first, second = await load(path), await load(path)
    assert schema_to_sql(first) == schema_to_sql(second)
    assert schema_to_json(first) == schema_to_json(second)
    replay = tmp_path / "replay.db"
    conn = sqlite3.connect(replay)
    conn.executescript(schema_to_sql(first))
    conn.close()
    assert schema_to_sql(await load(replay)) == schema_to_sql(first)


async def test_broken_view_is_reported_and_the_rest_still_loads(
    tmp_path: Path, make_db: Callable[..., Path]
) -> None:
    path = make_db(
        tmp_path,
        "CREATE TABLE gone(x); CREATE TABLE kept(a, b);"
        "CREATE VIEW orphan AS SELECT x FROM gone; DROP TABLE gone;",
    )
    schema = await load(path)
    orphan, kept = schema.get("orphan"), schema.get("kept")
    assert orphan is not None and orphan.error and "gone" in orphan.error
    assert kept is not None and [c.name for c in kept.columns] == ["a", "b"]
    assert kept.error is None


async def test_missing_virtual_table_module(tmp_path: Path) -> None:
    path = tmp_path / "rtree.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE plain(a); CREATE VIRTUAL TABLE geo USING fts5(x);")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "UPDATE sqlite_schema SET sql = 'CREATE VIRTUAL TABLE geo USING nosuchmodule(x)'"
        " WHERE name = 'geo'"
    )
    conn.commit()
    conn.close()
    schema = await load(path)
    geo, plain = schema.get("geo"), schema.get("plain")
    assert geo is not None and geo.kind == "virtual table"
    assert geo.error and "nosuchmodule" in geo.error
    assert plain is not None and [c.name for c in plain.columns] == ["a"]


# --- Identifiers with quotes, spaces, unicode, brackets, 1,000 characters -----------------

HOSTILE_NAMES = [
    'with "double" quotes',
    "with 'single' quotes",
    "with spaces  and\ttab",
    "ünïcödé 表 🙂",
    "[brackets]",
    "`backticks`",
    "semi;colon -- comment",
    "x" * 1000,
    "\u202eright-to-left",
    "[/] [@click=app.quit]x",
    "esc\x1b]52;c;aGk=\x07",
]


async def test_hostile_identifiers_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "names.db"
    conn = sqlite3.connect(path)
    for i, name in enumerate(HOSTILE_NAMES):
        q = quote_identifier(name)
        conn.execute(f"CREATE TABLE {q} ({q} TEXT PRIMARY KEY, other{i} INT)")
        conn.execute(f"CREATE INDEX {quote_identifier(name + ' ix')} ON {q}({q})")
        conn.execute(f"CREATE VIEW {quote_identifier(name + ' v')} AS SELECT {q} FROM {q}")
        conn.execute(
            f"CREATE TRIGGER {quote_identifier(name + ' tr')} AFTER INSERT ON {q} "
            "BEGIN SELECT 1; END"
        )
        conn.execute(f"INSERT INTO {q} VALUES (?, ?)", (name, i))
    conn.commit()
    stored = {name: sql for name, sql in conn.execute("SELECT name, sql FROM sqlite_schema")}
    conn.close()

    opened = await SqliteBackend.open(parse_url(str(path)))
    try:
        schema = await opened.schema()
        for i, name in enumerate(HOSTILE_NAMES):
            table = schema.get(name)
            assert table is not None and table.kind == "table"
            assert [c.name for c in table.columns] == [name, f"other{i}"]
            assert table.sql == stored[name]
            (index,) = [ix for ix in table.indexes if ix.origin == "c"]
            assert (index.name, index.columns) == (name + " ix", (name,))
            view = schema.get(name + " v")
            assert view is not None and [c.name for c in view.columns] == [name]
            assert [t.name for t in schema.belonging_to(name, "trigger")] == [name + " tr"]
            page = await opened.fetch_rows(name)
            assert page.rows == ((name, i),)
            assert (await opened.row_count(name + " v")).value == 1
    finally:
        await opened.aclose()
    dumped = schema_to_sql(schema)
    for sql in stored.values():
        if sql:
            assert sql + ";" in dumped


IDENTIFIERS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=60,
).filter(lambda s: not s.lower().startswith("sqlite_"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=IDENTIFIERS, column=IDENTIFIERS)
def test_any_identifier_round_trips(table: str, column: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "h.db"
        conn = sqlite3.connect(path)
        qt, qc = quote_identifier(table), quote_identifier(column)
        conn.execute(f"CREATE TABLE {qt} ({qc} PRIMARY KEY, v)")
        conn.execute(f"INSERT INTO {qt} VALUES (?, ?)", ("k", column))
        conn.commit()
        conn.close()

        async def check() -> None:
            opened = await SqliteBackend.open(parse_url(str(path)))
            try:
                schema = await opened.schema()
                obj = schema.get(table)
                assert obj is not None
                assert [c.name for c in obj.columns] == [column, "v"]
                assert [c.pk for c in obj.columns] == [1, 0]
                page = await opened.fetch_rows(table)
                assert page.rows == (("k", column),)
                assert page.columns == (column, "v")
            finally:
                await opened.aclose()

        asyncio.run(check())


# --- Corpus databases compared with SQLite's own pragmas -----------------------------------


def read_only(source: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection to a corpus file, skipping when it is absent."""
    if not source.is_file():
        pytest.skip(f"corpus file missing: {source}")
    return sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)


@pytest.mark.parametrize("source", [CHINOOK, SQLX_DB], ids=["chinook", "sqlx"])
async def test_corpus_schema_matches_pragmas(source: Path) -> None:
    conn = read_only(source)
    schema = await load(source)
    try:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema").fetchall()
        assert sorted((o.name, o.table, o.sql) for o in schema.objects) == sorted(
            (name, table, sql) for _, name, table, sql in rows
        )
        for type_, name, _, _ in rows:
            obj = schema.get(name)
            assert obj is not None
            if type_ not in ("table", "view"):
                continue
            q = quote_identifier(name)
            xinfo = conn.execute(f"PRAGMA table_xinfo({q})").fetchall()
            assert [
                (c.name, c.type, int(c.not_null), c.default, c.pk, c.hidden) for c in obj.columns
            ] == [(n, t, nn, d, pk, h) for _, n, t, nn, d, pk, h in xinfo]
            fks = conn.execute(f"PRAGMA foreign_key_list({q})").fetchall()
            assert sorted(
                (fk.ref_table, col, ref, fk.on_update, fk.on_delete)
                for fk in obj.foreign_keys
                for col, ref in zip(fk.columns, fk.ref_columns, strict=True)
            ) == sorted((f[2], f[3], f[4], f[5], f[6]) for f in fks)
            indexes = conn.execute(f"PRAGMA index_list({q})").fetchall()
            assert sorted((ix.name, ix.unique, ix.origin) for ix in obj.indexes) == sorted(
                (i[1], bool(i[2]), i[3]) for i in indexes
            )
            for ix in obj.indexes:
                cols = conn.execute(f"PRAGMA index_info({quote_identifier(ix.name)})").fetchall()
                assert ix.columns == tuple(c[2] for c in cols)
    finally:
        conn.close()
