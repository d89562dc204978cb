"""Row reading of views that cannot be read, of hostile names, and of 2,000-column objects.

A failure must be SQLite's own error for the object (never a syntax error of the reader's
SQL), and an object as wide as SQLite allows must page like any other.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import dbinspect.backends.sqlite_rows as sqlite_rows
from dbinspect import sqlite_driver as driver
from dbinspect.backends import quote_identifier
from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.errors import QueryError
from dbinspect.models import Filter, RowQuery
from dbinspect.sqlite_driver import dbapi as sqlite3
from dbinspect.url import parse_url

WIDE = 2000
"""SQLite's default limit on the columns of a table or a result set."""
WIDE_ROWS = 120
LONG = "y" * 1000
HOSTILE = ['"', "]", "`", "a\nb", "x" * 10_000, "[/]", "[@click=app.quit]x", "it's", '"]`[']


def sqlite_error(path: Path, sql: str) -> str:
    """The message SQLite itself gives for `sql`."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(sql).fetchall()
    except sqlite3.Error as error:
        return str(error)
    finally:
        conn.close()
    raise AssertionError(f"{sql} did not fail")


def rows_of(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def columns_of(path: Path, sql: str) -> tuple[str, ...]:
    """The column names SQLite itself reports for `sql`."""
    conn = sqlite3.connect(path)
    try:
        return tuple(d[0] for d in conn.execute(sql).description)
    finally:
        conn.close()


async def opened(path: Path) -> SqliteBackend:
    return await SqliteBackend.open(parse_url(str(path)))


# --- Views that cannot be read -----------------------------------------------------------

BROKEN = {
    "calls_evil": "CREATE VIEW calls_evil AS SELECT evil(a) AS x FROM t",
    "over_gone": "CREATE TABLE gone(a); CREATE VIEW over_gone AS SELECT a FROM gone;"
    " DROP TABLE gone",
    "evil_in_where": "CREATE VIEW evil_in_where AS SELECT a, b FROM t WHERE evil(b)",
}


@pytest.fixture
def broken(tmp_path: Path, make_db: Callable[..., Path]) -> Path:
    script = "CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 'one'), (2, 'two');"
    return make_db(tmp_path, script + ";".join(BROKEN.values()))


async def _every_read(backend: SqliteBackend, name: str) -> AsyncIterator[str]:
    """Each way the Data pane reads rows, yielding the one-line error it fails with."""
    sorted_query = RowQuery(sort_column="x", descending=True)
    reads = [
        backend.fetch_page(name, RowQuery(), limit=10, cell_limit=256),
        backend.fetch_page(name, RowQuery(), limit=10),
        backend.fetch_page(name, RowQuery(), before=(), limit=10, cell_limit=256),
        backend.fetch_page(name, sorted_query, offset=5, limit=10, cell_limit=256),
        backend.fetch_rows(name),
        backend.fetch_rows(name, before=()),
        backend.rows_before(name, RowQuery(), (3,)),
        backend.fetch_cell(name, RowQuery(), (0,), "x", 100),
    ]
    for read in reads:
        with pytest.raises(QueryError) as caught:
            await read
        yield caught.value.one_line()
    with pytest.raises(QueryError) as caught:
        async for _ in backend.count_stepwise(name, RowQuery()):
            pass
    yield caught.value.one_line()


@pytest.mark.parametrize("name", list(BROKEN))
async def test_a_broken_view_fails_with_sqlites_own_error(broken: Path, name: str) -> None:
    own = sqlite_error(broken, f"SELECT * FROM {name}")
    assert "syntax error" not in own
    backend = await opened(broken)
    try:
        async for message in _every_read(backend, name):
            assert own in message
            assert "syntax error" not in message
        # The connection is still good for the next object.
        page = await backend.fetch_page("t", RowQuery(), limit=10)
        assert page.rows == ((1, "one"), (2, "two"))
    finally:
        await backend.aclose()


async def test_the_schema_and_the_rows_name_the_same_cause(broken: Path) -> None:
    backend = await opened(broken)
    try:
        view = (await backend.schema()).get("calls_evil")
        assert view is not None and view.error == "no such function: evil"
        with pytest.raises(QueryError, match="no such function: evil"):
            await backend.fetch_page("calls_evil", RowQuery(), limit=5, cell_limit=256)
    finally:
        await backend.aclose()


# --- Hostile names ------------------------------------------------------------------------

NAMES = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=40,
    ),
).filter(lambda s: not s.lower().startswith("sqlite_"))


def _build_named(folder: Path, view: str, first: str, second: str) -> Path:
    path = folder / "names.db"
    conn = sqlite3.connect(path)
    qv, q1, q2 = quote_identifier(view), quote_identifier(first), quote_identifier(second)
    bad = quote_identifier(view + " broken")
    conn.executescript(
        f"""
        CREATE TABLE t(a, b);
        CREATE VIEW {qv}({q1}, {q2}) AS SELECT a, b FROM t;
        CREATE VIEW {bad}({q1}) AS SELECT evil(a) FROM t;
        """
    )
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i:02d}") for i in range(30)])
    conn.commit()
    conn.close()
    return path


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(view=NAMES, first=NAMES, second=NAMES)
def test_views_with_hostile_names_page_and_fail_plainly(view: str, first: str, second: str) -> None:
    # SQLite folds ASCII letters when it compares names: "T" is the table `t`.
    assume(view.lower() not in ("t", "t broken"))
    if second.lower() == first.lower():
        second += "2"
    with tempfile.TemporaryDirectory() as folder:
        path = _build_named(Path(folder), view, first, second)
        qv, q2 = quote_identifier(view), quote_identifier(second)
        want = rows_of(path, f"SELECT * FROM {qv}")
        # The names SQLite gives the view's columns: (first, second), except where an
        # older SQLite renames one (3.40 calls a column declared "FALSE" column2).
        names = columns_of(path, f"SELECT * FROM {qv}")
        want_desc = rows_of(path, f"SELECT * FROM {qv} ORDER BY {q2} DESC")
        own = sqlite_error(path, f"SELECT * FROM {quote_identifier(view + ' broken')}")

        async def check() -> None:
            backend = await opened(path)
            try:
                page = await backend.fetch_page(view, RowQuery(), limit=10, cell_limit=256)
                assert page.columns == names
                if driver.BUNDLED:
                    assert names == (first, second)
                assert list(page.rows) == want[:10]
                after = await backend.fetch_page(
                    view, RowQuery(), after=page.keys[-1], limit=10, cell_limit=256
                )
                assert list(after.rows) == want[10:20]
                last = await backend.fetch_page(view, RowQuery(), before=(), limit=5)
                assert list(last.rows) == want[-5:]
                by_second = RowQuery(sort_column=second, descending=True)
                desc = await backend.fetch_page(view, by_second, limit=30, cell_limit=256)
                assert list(desc.rows) == want_desc
                match = RowQuery(filters=(Filter(second, "equals", "v07"),))
                found = await backend.fetch_page(view, match, limit=10, cell_limit=256)
                assert list(found.rows) == [(7, "v07")]
                cell = await backend.fetch_cell(view, RowQuery(), (3,), second, 100_000)
                assert cell is not None and cell.value == "v03"
                with pytest.raises(QueryError) as caught:
                    await backend.fetch_page(view + " broken", RowQuery(), limit=10)
                assert own in caught.value.one_line()
                assert "syntax error" not in caught.value.one_line()
            finally:
                await backend.aclose()

        asyncio.run(check())


# --- 2,000 columns ------------------------------------------------------------------------


def _wide_values(row: int) -> list[object]:
    values: list[object] = []
    for column in range(1, WIDE):
        if column % 5 == 0:
            values.append(row * column)
        elif column % 7 == 0:
            values.append(bytes([row % 256, column % 256]))
        elif column % 11 == 0 and row % 3 == 0:
            values.append(None)
        else:
            values.append(f"r{row}c{column}")
    if row == 3:
        values[-1] = LONG
    return values


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`wide` (rowid), `wide_wr` (WITHOUT ROWID) and the view `wide_v`, each 2,000 columns,
    and `wide_join`, a view joining two 996-column tables."""
    path = tmp_path_factory.mktemp("wide") / "wide.db"
    conn = sqlite3.connect(path)
    rest = ", ".join(f"c{i}" for i in range(1, WIDE))
    marks = ", ".join("?" for _ in range(WIDE))
    conn.execute(f"CREATE TABLE wide(id INTEGER PRIMARY KEY, {rest})")
    conn.execute(f"CREATE TABLE wide_wr(k TEXT PRIMARY KEY, {rest}) WITHOUT ROWID")
    conn.execute("CREATE VIEW wide_v AS SELECT * FROM wide")
    conn.executemany(
        f"INSERT INTO wide VALUES ({marks})",
        [[row, *_wide_values(row)] for row in range(1, WIDE_ROWS + 1)],
    )
    conn.executemany(
        f"INSERT INTO wide_wr VALUES ({marks})",
        [[f"k{row:04d}", *_wide_values(row)] for row in range(1, WIDE_ROWS + 1)],
    )
    # A join whose halves SQLite would read in different orders if each statement of a
    # page used only its own columns (each side has a covering index on its key).
    half = 995
    conn.execute(f"CREATE TABLE ja(ak, {', '.join(f'a{i}' for i in range(half))})")
    conn.execute(f"CREATE TABLE jb(bk, {', '.join(f'b{i}' for i in range(half))})")
    conn.execute("CREATE INDEX ja_k ON ja(ak)")
    conn.execute("CREATE INDEX jb_k ON jb(bk)")
    keys = [(k * 37) % 300 for k in range(300)]
    conn.executemany(
        f"INSERT INTO ja VALUES ({', '.join('?' for _ in range(half + 1))})",
        [[k] + [k] * half for k in keys],
    )
    conn.executemany(
        f"INSERT INTO jb VALUES ({', '.join('?' for _ in range(half + 1))})",
        [[k] + [-k] * half for k in reversed(keys)],
    )
    conn.execute("CREATE VIEW wide_join AS SELECT ja.*, jb.* FROM ja JOIN jb ON jb.bk = ja.ak")
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return path


KEY_ORDER = {"wide": "id", "wide_wr": "k", "wide_v": None}


@pytest.mark.parametrize("name", list(KEY_ORDER))
async def test_a_2000_column_object_pages_like_any_other(wide: Path, name: str) -> None:
    key = KEY_ORDER[name]
    order = f" ORDER BY {key}" if key else ""
    want = rows_of(wide, f"SELECT * FROM {name}{order}")
    assert len(want[0]) == WIDE
    backend = await opened(wide)
    try:
        first = await backend.fetch_page(name, RowQuery(), limit=50, cell_limit=256)
        assert len(first.columns) == WIDE and first.columns[-1] == f"c{WIDE - 1}"
        cut = {row: dict(sizes) for row, sizes in enumerate(first.truncated) if sizes}
        assert cut == {2: {WIDE - 1: len(LONG)}}
        assert first.rows[2][-1] == LONG[:256]
        assert [r for i, r in enumerate(first.rows) if i != 2] == want[:2] + want[3:50]
        nxt = await backend.fetch_page(
            name, RowQuery(), after=first.keys[-1], limit=50, cell_limit=256
        )
        assert list(nxt.rows) == want[50:100]
        last = await backend.fetch_page(name, RowQuery(), before=(), limit=30, cell_limit=256)
        assert list(last.rows) == want[-30:]
        at = await backend.fetch_page(name, RowQuery(), at=nxt.keys[5], limit=3)
        assert list(at.rows) == want[55:58]
        jump = await backend.fetch_page(name, RowQuery(), offset=90, limit=5, cell_limit=256)
        assert list(jump.rows) == want[90:95]
        whole = await backend.fetch_rows(name, limit=5)
        assert list(whole.rows) == want[:5] and len(whole.columns) == WIDE
        tail = await backend.fetch_rows(name, before=(), limit=5)
        assert list(tail.rows) == want[-5:]
        cell = await backend.fetch_cell(name, RowQuery(), first.keys[2], f"c{WIDE - 1}", 10_000)
        assert cell is not None and cell.value == LONG and cell.size == len(LONG)
        # Several statements read one page in one transaction, ended every time.
        assert not backend._conn.in_transaction
    finally:
        await backend.aclose()


@pytest.mark.parametrize("name", ["wide", "wide_wr"])
async def test_a_2000_column_table_sorts_and_filters_on_its_last_columns(
    wide: Path, name: str
) -> None:
    key = KEY_ORDER[name]
    want = rows_of(wide, f"SELECT * FROM {name} ORDER BY c1995 DESC, {key}")
    backend = await opened(wide)
    try:
        query = RowQuery(sort_column="c1995", descending=True)
        first = await backend.fetch_page(name, query, limit=40, cell_limit=256)
        assert list(first.rows) == want[:40]
        nxt = await backend.fetch_page(name, query, after=first.keys[-1], limit=40)
        assert list(nxt.rows) == want[40:80]
        match = RowQuery(filters=(Filter("c1998", "equals", "r77c1998"),))
        found = await backend.fetch_page(name, match, limit=10, cell_limit=256)
        assert [r[0] for r in found.rows] == [77 if name == "wide" else "k0077"]
    finally:
        await backend.aclose()


async def test_a_wide_view_is_read_in_one_order_by_every_statement(wide: Path) -> None:
    want = rows_of(wide, "SELECT * FROM wide_join LIMIT 20 OFFSET 100")
    assert len(want[0]) > sqlite_rows.RESULT_COLUMNS
    backend = await opened(wide)
    try:
        page = await backend.fetch_page("wide_join", RowQuery(), offset=100, limit=20)
        assert list(page.rows) == want
        cut = await backend.fetch_page(
            "wide_join", RowQuery(), offset=100, limit=20, cell_limit=256
        )
        assert list(cut.rows) == want
    finally:
        await backend.aclose()


async def test_a_view_cell_is_read_from_the_row_its_page_showed(wide: Path) -> None:
    want = rows_of(wide, "SELECT * FROM wide_join LIMIT 1 OFFSET 100")[0]
    columns = [d[1] for d in rows_of(wide, "SELECT * FROM pragma_table_info('wide_join')")]
    backend = await opened(wide)
    try:
        page = await backend.fetch_page("wide_join", RowQuery(), offset=100, limit=1)
        assert page.rows == (want,)
        for index in (0, 1, len(columns) - 1):
            cell = await backend.fetch_cell("wide_join", RowQuery(), (100,), columns[index], 100)
            assert cell is not None and cell.value == want[index]
    finally:
        await backend.aclose()
