"""Hostile identifiers on PostgreSQL never act on the terminal, and documents keep them exact.

Every kind of name a PostgreSQL catalog holds (schema, table, column, index, view, enum
label, comment, function, trigger, sequence, constraint, a default's string literal) and
every migration file name is drawn at random, rich in C0, C1, bidi, quote, backslash and
Rich markup characters. Human-facing lines (`info`, `migrate run`, `migrate info`,
`check`, errors), in a pipe and on a terminal, and every pane of the app show them
escaped, never as markup; `schema --format json` gives them back exactly; the Data pane
browses, filters and sorts such a table as any other.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hostile_text import (
    BIDI,
    C1_CSI,
    CLEAR,
    OSC2,
    OSC52,
    dbinspect,
    names,
    quote,
    raw_controls,
    run_in_pty,
    text,
    write_migration,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pgkit import query, run_sql
from textual.pilot import Pilot
from tui.helpers import open_in_data, plain, schema_read, settle, terminal_text, wait_until

from dbinspect.backends import open_backend
from dbinspect.config import resolve_settings
from dbinspect.connections import ConnectionOwner
from dbinspect.tui.app import DbInspectApp
from dbinspect.tui.data.pane import DataPane
from dbinspect.tui.panes.schema_tree import Group, SchemaTree
from dbinspect.tui.session import Session

MARKUP = ("[b]", "[/]", "[red]x[/red]", "[@click=app.quit]q[/]", "[link=x]", "%s", "{0}", "\\")
"""Rich and Textual markup, and format placeholders: shown as typed, never obeyed."""
NAME_BYTES = 20
"""Each random half of a name: with a prefix and a markup part it stays under the 63-byte
limit PostgreSQL would otherwise cut identifiers (and enum labels) to."""
APP_SIZE = (200, 50)
"""Wide enough for a whole escaped name in the Data pane's title."""
ORDINAL = itertools.count(1)


def fit(text: str, limit: int = NAME_BYTES) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, on a character boundary."""
    return text.encode()[:limit].decode(errors="ignore")


def hostile_names() -> st.SearchStrategy[str]:
    """Random text around a piece of markup, short enough to be a PostgreSQL identifier."""
    return st.builds(
        lambda before, markup, after: fit(before) + markup + fit(after),
        names(12),
        st.sampled_from(MARKUP),
        names(12),
    )


def literal(text: str) -> str:
    """`text` as a standard SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Objects:
    """One of each kind of named object, all in one schema of their own.

    The prefixes keep the names of one namespace apart whatever is drawn.
    """

    schema_part: str
    table_part: str
    column_part: str
    index_part: str
    view_part: str
    label: str
    comment: str
    function_part: str
    trigger_part: str
    sequence_part: str
    constraint_part: str
    default: str
    ordinal: int

    @property
    def schema(self) -> str:
        return f"s{self.ordinal}{self.schema_part}"

    @property
    def table(self) -> str:
        return "t" + self.table_part

    @property
    def column(self) -> str:
        return "c" + self.column_part

    @property
    def index(self) -> str:
        return "i" + self.index_part

    @property
    def view(self) -> str:
        return "v" + self.view_part

    @property
    def enum(self) -> str:
        return "e" + self.label

    @property
    def function(self) -> str:
        return "f" + self.function_part

    @property
    def trigger(self) -> str:
        return "g" + self.trigger_part

    @property
    def sequence(self) -> str:
        return "q" + self.sequence_part

    @property
    def constraint(self) -> str:
        return "k" + self.constraint_part

    @property
    def value(self) -> str:
        """The hostile cell of row 1 (bracketed: a filter box trims what it is given)."""
        return f"({self.default})"

    def create(self) -> str:
        """The script that makes every object, with two rows in the table."""
        s = quote(self.schema)
        t, c, e = f"{s}.{quote(self.table)}", quote(self.column), f"{s}.{quote(self.enum)}"
        f, comment = f"{s}.{quote(self.function)}", literal(self.comment)
        return f"""
            CREATE SCHEMA {s};
            CREATE TYPE {e} AS ENUM ({literal(self.label)}, 'ok');
            CREATE SEQUENCE {s}.{quote(self.sequence)};
            CREATE TABLE {t} (
                id int PRIMARY KEY,
                {c} text DEFAULT {literal(self.default)}
                    CONSTRAINT {quote(self.constraint)} CHECK ({c} <> ''),
                m {e} DEFAULT {literal(self.label)}
            );
            CREATE INDEX {quote(self.index)} ON {t} ({c});
            CREATE VIEW {s}.{quote(self.view)} AS SELECT * FROM {t};
            CREATE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql
                AS $body$BEGIN RETURN NEW; END$body$;
            CREATE TRIGGER {quote(self.trigger)} BEFORE INSERT ON {t}
                FOR EACH ROW EXECUTE FUNCTION {f}();
            INSERT INTO {t} VALUES (1, {literal(self.value)}, {literal(self.label)});
            INSERT INTO {t} VALUES (2, 'plain', 'ok');
            COMMENT ON SCHEMA {s} IS {comment};
            COMMENT ON TABLE {t} IS {comment};
            COMMENT ON COLUMN {t}.{c} IS {comment};
            COMMENT ON INDEX {s}.{quote(self.index)} IS {comment};
            COMMENT ON VIEW {s}.{quote(self.view)} IS {comment};
            COMMENT ON TYPE {e} IS {comment};
            COMMENT ON FUNCTION {f}() IS {comment};
            COMMENT ON SEQUENCE {s}.{quote(self.sequence)} IS {comment};
            COMMENT ON TRIGGER {quote(self.trigger)} ON {t} IS {comment};
            COMMENT ON CONSTRAINT {quote(self.constraint)} ON {t} IS {comment};
        """


def hostile_objects() -> st.SearchStrategy[Objects]:
    parts = {
        field: hostile_names()
        for field in Objects.__dataclass_fields__
        if field not in ("ordinal", "default")
    }
    return st.builds(
        Objects, default=names(12).map(fit), ordinal=st.builds(lambda: next(ORDINAL)), **parts
    )


FIXED = Objects(
    *(f"{OSC52}{CLEAR}[b]{part}[/b]{C1_CSI}" for part in "stcivlnfgqk"),
    default=f"{OSC2}{BIDI}'\\",
    ordinal=0,
)
"""Every kind of name holding OSC 52, CSI, C1, markup, and a default with OSC 2 and bidi."""


def escaped(text: str) -> str:
    """`text` as a human-facing line shows it: each control, C1 or bidi character escaped."""
    return "".join(
        (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        if raw_controls(char) or char in "\r\n"
        else char
        for char in text
    )


@contextmanager
def made(url: str, objects: Objects) -> Iterator[None]:
    """The objects made, their schema first on the database's search path; dropped after."""
    database = quote(url.rsplit("/", 1)[1])
    run_sql(
        url,
        objects.create()
        + f"ALTER DATABASE {database} SET search_path = {quote(objects.schema)}, public;",
    )
    try:
        yield
    finally:
        run_sql(
            url,
            f"DROP SCHEMA {quote(objects.schema)} CASCADE; "
            f"ALTER DATABASE {database} RESET search_path;",
        )


def write_migrations(folder: Path, descriptions: tuple[str, str, str]) -> Path:
    """Migrations 1 and 2 (a table, a comment on it) apply; 3 fails on a missing table.

    Each file is named by its description; the tables are named after them too.
    """
    source = folder / "migrations"
    source.mkdir()
    first, second, third = descriptions
    table = quote("m" + fit(first, 50))
    write_migration(source, 1, first, f"CREATE TABLE {table} (v int);\n")
    write_migration(source, 2, second, f"COMMENT ON TABLE {table} IS {literal(second)};\n")
    write_migration(source, 3, third, f"INSERT INTO {quote('n' + fit(third, 50))} VALUES (1);\n")
    return source


def migrate(url: str, *args: str) -> list[str]:
    return ["migrate", *args, "-D", url, "--source", "migrations"]


def human_lines(url: str, folder: Path) -> dict[str, str]:
    """What `migrate run` (1 and 2 applied, 3 failing), `migrate info` and `info` print."""
    ran = dbinspect(*migrate(url, "run"), cwd=folder)
    assert ran.returncode == 1, text(ran)
    applied = ran.stdout.decode().splitlines()
    assert [line.split("/")[0] for line in applied] == ["Applied 1", "Applied 2"], applied
    failed = ran.stderr.decode().splitlines()
    assert len(failed) == 1 and failed[0].startswith("error: migration 3 ("), failed
    listed = dbinspect(*migrate(url, "info"), cwd=folder)
    assert listed.returncode == 0, text(listed)
    assert len(listed.stdout.decode().splitlines()) == 3, text(listed)
    info = dbinspect("info", url, cwd=folder)
    assert info.returncode == 0, text(info)
    return {"migrate run": text(ran), "migrate info": text(listed), "info": text(info)}


def named(items: list[dict[str, Any]], name: str, schema: str) -> dict[str, Any]:
    (found,) = [item for item in items if item["name"] == name and item["schema"] == schema]
    return found


def assert_exact(document: dict[str, Any], objects: Objects, migrated: str) -> None:
    """Every name, label, comment and default in `schema --format json` is the one made."""
    comment, schema = objects.comment, objects.schema
    (entry,) = [s for s in document["schemas"] if s["name"] == schema]
    assert entry["comment"] == comment
    enum = named(document["types"], objects.enum, schema)
    assert (enum["labels"], enum["comment"]) == ([objects.label, "ok"], comment)
    (function,) = [f for f in document["functions"] if f["function_name"] == objects.function]
    assert (function["schema"], function["comment"]) == (schema, comment)
    assert named(document["sequences"], objects.sequence, schema)["comment"] == comment
    assert named(document["views"], objects.view, schema)["comment"] == comment
    index = named(document["indexes"], objects.index, schema)
    assert (index["table"], index["columns"], index["comment"]) == (
        objects.table,
        [objects.column],
        comment,
    )
    trigger = named(document["triggers"], objects.trigger, schema)
    assert (trigger["table"], trigger["comment"]) == (objects.table, comment)
    table = named(document["tables"], objects.table, schema)
    assert table["comment"] == comment
    assert [c["name"] for c in table["columns"]] == ["id", objects.column, "m"]
    column = table["columns"][1]
    assert column["comment"] == comment
    assert column["default"] == f"{literal(objects.default)}::text"
    assert objects.constraint in [c["name"] for c in table["constraints"]]
    assert objects.index in [i["name"] for i in table["indexes"]]
    assert table["triggers"] == [objects.trigger]
    tracked = named(document["tables"], "m" + fit(migrated, 50), schema)
    assert tracked["comment"] is not None


CLI_SETTINGS = settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@CLI_SETTINGS
@given(objects=hostile_objects(), descriptions=st.tuples(names(12), names(12), names(12)))
def test_random_names_never_reach_the_terminal_from_the_cli(
    pg_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    objects: Objects,
    descriptions: tuple[str, str, str],
) -> None:
    """`migrate run`, `migrate info`, `info` and `check` escape every name, piped or on a
    terminal, and `schema --format json` gives each one back exactly."""
    folder = tmp_path_factory.mktemp("cli")
    write_migrations(folder, descriptions)
    with made(pg_url, objects):
        outputs = human_lines(pg_url, folder)
        status, outputs["check on a terminal"] = run_in_pty(
            ["check", pg_url, "--source", "migrations"], cwd=folder
        )
        document = dbinspect("schema", "--format", "json", pg_url, cwd=folder)
    assert status == 1, outputs["check on a terminal"]  # migration 3 is pending
    for command, output in outputs.items():
        assert "Traceback" not in output, (command, output)
        assert raw_controls(output) == [], (command, output)
    assert document.returncode == 0, text(document)
    assert raw_controls(document.stdout.decode()) == []
    assert_exact(json.loads(document.stdout), objects, descriptions[0])


def test_fixed_hostile_names_are_escaped_on_a_terminal_and_in_error_lines(
    pg_url: str, tmp_path: Path
) -> None:
    """On a terminal as in a pipe, `info` shows the search path, `migrate run` and
    `migrate info` the file names and the server's error, escaped; errors quoting a name
    (`export`, `query`) too; `migrate info --json` keeps the descriptions exact."""
    descriptions = (f"{OSC52}one", f"{CLEAR}{C1_CSI}two", f"{BIDI}{OSC2}three\n")
    write_migrations(tmp_path, descriptions)
    missing = f"{FIXED.schema}.{FIXED.table}"
    with made(pg_url, FIXED):
        piped = human_lines(pg_url, tmp_path)
        commands = {
            "migrate info": migrate(pg_url, "info"),
            "info": ["info", pg_url],
            "migrate run": migrate(pg_url, "run"),
            "export": ["export", pg_url, "no" + missing],
            "query": ["query", pg_url, f"SELECT {quote(FIXED.column)} FROM {quote(FIXED.view)}"],
        }
        on_terminal = {name: run_in_pty(args, cwd=tmp_path) for name, args in commands.items()}
        listed = dbinspect(*migrate(pg_url, "info", "--json"), cwd=tmp_path)
    for command, output in piped.items():
        assert raw_controls(output) == [], (command, output)
    for command, (_, output) in on_terminal.items():
        assert raw_controls(output) == [], (command, output)
        assert "Traceback" not in output, (command, output)
    search_path = next(line for line in piped["info"].splitlines() if "Search path" in line)
    assert escaped(FIXED.schema) in search_path
    assert on_terminal["migrate info"][0] == 0
    assert "1/installed \\x1b]52;c;aGk=\\x1b\\one" in on_terminal["migrate info"][1]
    status, output = on_terminal["migrate run"]
    assert status == 1 and output.startswith("error: migration 3 ("), output
    assert escaped(f"n{BIDI}{OSC2}three") in output  # the server's message names the table
    status, output = on_terminal["export"]
    assert status == 1 and output.startswith("error: "), output
    assert escaped(FIXED.table) in output
    status, output = on_terminal["query"]
    assert status == 0, output
    assert escaped(FIXED.column)[:20] in output and escaped(FIXED.value)[:20] in output  # cut
    exact = [row["description"] for row in json.loads(listed.stdout)]
    assert exact == [f"{description}x" for description in descriptions]  # see write_migration


@asynccontextmanager
async def open_app(url: str, cwd: Path) -> AsyncIterator[DbInspectApp]:
    settings_ = resolve_settings(database=url, cwd=cwd)
    assert settings_.url is not None
    backend = await open_backend(settings_.url)
    session = Session(
        settings_, settings_.url, ConnectionOwner(settings_.url, panes=backend), cwd=cwd
    )
    try:
        yield DbInspectApp(session)
    finally:
        await session.connections.aclose()


def errors_shown(app: DbInspectApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


def find(tree: SchemaTree, name: str) -> bool:
    """Unfold every group of the tree (folded schemas fill in once shown); select `name`."""
    pending = list(tree.root.children)
    while pending:
        node = pending.pop()
        if isinstance(node.data, Group) and not node.is_expanded:
            node.expand()
        pending.extend(node.children)
    return tree.select_object(name)


def ids_shown(pane: DataPane) -> list[object]:
    rows = (pane.window.get(i) for i in range(pane.total))
    return [row.values[0] if row is not None else None for row in rows]


async def until(pilot: Pilot[None], condition: Callable[[], object], what: str) -> None:
    """Wait for `condition`, failing at once on an error toast (which names the cause)."""
    app = pilot.app
    assert isinstance(app, DbInspectApp)
    await wait_until(pilot, lambda: errors_shown(app) or condition(), what, limit=15)
    assert errors_shown(app) == [], what


def look(app: DbInspectApp) -> None:
    """The screen as the terminal gets it holds no raw control character (line ends aside)."""
    shown = terminal_text(app)
    assert raw_controls(shown, allow="\n") == [], shown


async def browse_every_pane(pilot: Pilot[None], app: DbInspectApp, objects: Objects) -> None:
    """Every pane's screen, each object's detail, and the hostile table browsed.

    The table opens in the Data pane, is filtered on its hostile column by the hostile
    value, then sorted by that column both ways: checked against the server on the way.
    """
    app.animation_level = "none"
    await schema_read(pilot, app)
    for key in "1234567":
        await pilot.press(key)
        await settle(pilot)
        look(app)
    await pilot.press("3")
    await settle(pilot)
    tree = app.screen.query_one(SchemaTree)
    tree.focus()  # the Query pane's editor had it
    detail = app.screen.query_one("#schema-info")
    for name in (objects.view, objects.sequence, objects.enum, objects.table):
        await wait_until(pilot, lambda: find(tree, name), name)  # noqa: B023
        await settle(pilot)
        look(app)
        assert escaped(name) in plain(detail, width=400), name
    for part in (objects.column, objects.comment, objects.constraint):  # not wrapped
        assert escaped(part) in plain(detail, width=400), part

    pane = await open_in_data(pilot, app, objects.table, find)
    await until(pilot, lambda: pane.total == 2 and None not in ids_shown(pane), "2 rows")
    look(app)
    assert escaped(objects.table) in plain(app.screen.query_one("#data-title"), width=400)
    row = pane.window.get(0)
    assert row is not None and row.values == (1, objects.value, objects.label)

    pane.grid.move_cursor(0, 1)
    await pilot.press("slash")
    await settle(pilot)
    look(app)  # the filter box's hint names the column
    box = app.screen.query_one("#data-filter")
    box.value = "==" + objects.value  # type: ignore[attr-defined]
    await pilot.press("enter")
    await settle(pilot)
    await until(pilot, lambda: pane.total == 1 and ids_shown(pane) == [1], "the filter")
    look(app)
    where = plain(app.screen.query_one("#data-query"), width=400)
    assert f"{escaped(objects.column)} == {escaped(objects.value)}" in where

    await pilot.press("F")
    await settle(pilot)
    table = f"{quote(objects.schema)}.{quote(objects.table)}"
    for order in ("ASC", "DESC"):
        await pilot.press("s")
        await settle(pilot)
        expected = [
            row[0]
            for row in query(
                app.session.url.raw,
                f"SELECT id FROM {table} ORDER BY {quote(objects.column)} {order}",
            )
        ]
        await until(pilot, lambda: ids_shown(pane) == expected, f"sorted {order}")  # noqa: B023
        assert pane.row_query.sort_column == objects.column
        look(app)
    assert errors_shown(app) == []


async def test_fixed_hostile_names_never_reach_the_terminal_from_a_pane(
    pg_url: str, tmp_path: Path
) -> None:
    """Every name holding OSC 52, CSI, C1 and markup: no pane (the Data pane's filter box
    included) shows one raw or as markup."""
    with made(pg_url, FIXED):
        async with (
            open_app(pg_url, tmp_path) as app,
            app.run_test(size=APP_SIZE, notifications=True) as pilot,
        ):
            await browse_every_pane(pilot, app, FIXED)


APP_SETTINGS = settings(
    max_examples=3,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # seconds an example: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def test_a_table_outside_public_is_filtered_and_sorted_in_the_data_pane(
    pg_url: str, tmp_path: Path
) -> None:
    """Filter and sort reopen the table they browse, in its own schema: with plain names
    (the smallest case of the random test below), in a schema other than `public`."""
    objects = Objects(*"xxxxxxxxxxx", default="d", ordinal=0)
    with made(pg_url, objects):
        async with (
            open_app(pg_url, tmp_path) as app,
            app.run_test(size=APP_SIZE, notifications=True) as pilot,
        ):
            await browse_every_pane(pilot, app, objects)


@APP_SETTINGS
@given(objects=hostile_objects())
def test_random_names_never_reach_the_terminal_from_a_pane(
    pg_url: str, tmp_path_factory: pytest.TempPathFactory, objects: Objects
) -> None:
    """No pane puts a raw control on screen or obeys markup in a name, and the Data pane
    browses, filters and sorts a table whose every name is hostile."""
    folder = tmp_path_factory.mktemp("app")

    async def scenario() -> None:
        async with open_app(pg_url, folder) as app:
            async with app.run_test(size=APP_SIZE, notifications=True) as pilot:
                await browse_every_pane(pilot, app, objects)

    with made(pg_url, objects):
        asyncio.run(scenario())
