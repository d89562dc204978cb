"""SQLite extensions, through `python -m dbinspect` and the backend, on real files.

Where a name comes from decides where it loads: `--load-extension` everywhere,
`sqlx.toml` into migrations only, `dbinspect.toml` only once allowed. sqlite-vec (a dev
dependency) is the extension: `vec0` tables and `vec_length()`. Tests that load one skip
where this SQLite cannot load extensions (the forced fallback); the fallback's own errors
are tested under both libraries.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite import SqliteBackend
from dbinspect.backends.sqlite_query import fetch_all
from dbinspect.cli_extensions import with_extensions
from dbinspect.config import resolve_settings
from dbinspect.errors import QueryError
from dbinspect.extensions import Extension
from dbinspect.url import parse_url

RunCli = Callable[..., subprocess.CompletedProcess[str]]
VEC_ENTRYPOINT = "sqlite3_vec_init"
needs_loading = pytest.mark.skipif(
    not driver.can_load_extensions(), reason="this SQLite build cannot load extensions"
)
VEC_MIGRATIONS = {
    "0001_items.sql": (
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
        "INSERT INTO items VALUES (1, 'first'), (2, 'second');\n"
    ),
    "0002_embeddings.sql": (
        "CREATE VIRTUAL TABLE embeddings USING vec0(item_id INTEGER PRIMARY KEY, "
        "embedding float[3]);\n"
        "INSERT INTO embeddings (item_id, embedding) VALUES (1, '[1, 2, 3]'), "
        "(2, '[0.5, 0.5, 0.5]');\n"
        "CREATE TABLE embedding_sizes AS\n"
        "    SELECT item_id, vec_length(embedding) AS dims FROM embeddings;\n"
    ),
}


@pytest.fixture
def vec() -> str:
    """sqlite-vec's library, without its suffix, as `sqlite_vec.loadable_path()` gives it."""
    sqlite_vec = pytest.importorskip("sqlite_vec")
    return str(sqlite_vec.loadable_path())


@pytest.fixture
def vec_folder(tmp_path: Path) -> Path:
    """`migrations/` in the working directory: a plain table, then a vec0 table."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, sql in VEC_MIGRATIONS.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


def create_db(folder: Path, sql: str, name: str = "test.db") -> Path:
    """`folder / name`, built by running `sql` as one script."""
    conn = driver.connect(folder / name)
    try:
        conn.executescript(sql)
    finally:
        conn.close()
    return folder / name


def same_library(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a subprocess on the SQLite library this process uses."""
    env = {} if driver.BUNDLED else {driver.FORCE_ENV: "system"}
    env.update(extra or {})
    return env


def toml_string(text: str) -> str:
    """`text` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text)


def write_sqlx_toml(folder: Path, entries: list[str]) -> None:
    """A `sqlx.toml` whose `unsafe-load-extensions` holds `entries` (TOML values)."""
    (folder / "sqlx.toml").write_text(
        f"[drivers.sqlite]\nunsafe-load-extensions = [{', '.join(entries)}]\n", encoding="utf-8"
    )


def sqlx_entry(extension: Extension) -> str:
    """`extension` as an `unsafe-load-extensions` entry (TOML), in sqlx's two forms."""
    if extension.entrypoint is None:
        return toml_string(extension.path)
    path, entry = toml_string(extension.path), toml_string(extension.entrypoint)
    return f"{{ path = {path}, entrypoint = {entry} }}"


def write_config(folder: Path, kind: str, entries: list[str]) -> None:
    """dbinspect's own config (`dbinspect.toml` or `[tool.dbinspect]`) naming `entries`."""
    line = f"load-extensions = [{', '.join(entries)}]\n"
    if kind == "dbinspect.toml":
        (folder / "dbinspect.toml").write_text(line, encoding="utf-8")
    else:
        (folder / "pyproject.toml").write_text(f"[tool.dbinspect]\n{line}", encoding="utf-8")


def applied(path: Path) -> list[tuple[int, int]]:
    """(version, success) of every tracking row; empty when there is no tracking table."""
    conn = driver.connect(path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
        if "_sqlx_migrations" not in names:
            return []
        rows = conn.execute("SELECT version, success FROM _sqlx_migrations ORDER BY version")
        return [(int(v), int(s)) for v, s in rows]
    finally:
        conn.close()


def the_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 1 and one `error:` line holding `fragments`; beside it only `loading` notes."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [x for x in result.stderr.splitlines() if not x.startswith("loading extension ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def check_vec_results(path: Path, vec: str) -> None:
    """The vec0 migration ran with the extension: its table answers a nearest-neighbour query."""
    conn = driver.connect(path)
    try:
        sizes = conn.execute("SELECT item_id, dims FROM embedding_sizes ORDER BY 1").fetchall()
        assert sizes == [(1, 3), (2, 3)]
        driver.load_extensions(conn, [Extension(vec)])
        nearest = conn.execute(
            "SELECT item_id FROM embeddings WHERE embedding MATCH '[1, 2, 3.1]' "
            "ORDER BY distance LIMIT 1"
        ).fetchall()
        assert nearest == [(1,)]
    finally:
        conn.close()


def info_lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """`info`'s `Label: value` lines as a dict."""
    assert result.returncode == 0, result.stderr
    pairs = (line.split(":", 1) for line in result.stdout.splitlines())
    return {label: value.strip() for label, value in pairs}


def vec_table_columns(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The columns `schema --format json` lists for the vec0 table `embeddings`."""
    assert result.returncode == 0, result.stderr
    [table] = [t for t in json.loads(result.stdout)["virtual_tables"] if t["name"] == "embeddings"]
    return [column["name"] for column in table["columns"]]


# --- Where extensions come from ---------------------------------------------------------


@needs_loading
@pytest.mark.parametrize("form", ["path", "table"])
def test_sqlx_toml_loads_into_migrate_run(
    run_cli: RunCli, tmp_path: Path, vec: str, vec_folder: Path, form: str
) -> None:
    extension = Extension(vec) if form == "path" else Extension(vec, VEC_ENTRYPOINT)
    write_sqlx_toml(tmp_path, [sqlx_entry(extension)])
    shown = str(extension)

    result = run_cli("migrate", "run", "-D", "sqlite:app.db", env=same_library())

    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"loading extension {shown}"]
    assert "Applied 2/migrate embeddings" in result.stdout
    assert applied(tmp_path / "app.db") == [(1, 1), (2, 1)]
    check_vec_results(tmp_path / "app.db", vec)


def test_sqlx_toml_extensions_never_load_into_inspection(run_cli: RunCli, tmp_path: Path) -> None:
    # Inspection does not load them, so it must not fail over them either: not even
    # where this SQLite cannot load extensions at all, nor when the file does not exist.
    write_sqlx_toml(tmp_path, [toml_string(str(tmp_path / "nowhere" / "ext"))])
    create_db(tmp_path, "CREATE TABLE t (x);", "app.db")

    info = run_cli("info", "app.db", env=same_library())
    as_json = run_cli("info", "--json", "app.db", env=same_library())
    schema = run_cli("schema", "app.db", env=same_library())

    assert info_lines(info)["Extensions"] == "none"
    assert info.stderr == ""
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["extensions"] == []
    assert schema.returncode == 0, schema.stderr
    assert "CREATE TABLE t (x);" in schema.stdout


@needs_loading
@pytest.mark.parametrize("entrypoint", [False, True])
def test_load_extension_flag_loads_into_every_command(
    run_cli: RunCli, tmp_path: Path, vec: str, vec_folder: Path, entrypoint: bool
) -> None:
    flag = f"{vec}:{VEC_ENTRYPOINT}" if entrypoint else vec
    env = same_library()

    run = run_cli("migrate", "run", "-D", "sqlite:app.db", "--load-extension", flag, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [f"loading extension {flag}"]
    assert applied(tmp_path / "app.db") == [(1, 1), (2, 1)]
    check_vec_results(tmp_path / "app.db", vec)

    info = run_cli("info", "app.db", "--load-extension", flag, env=env)
    assert info_lines(info)["Extensions"] == flag
    assert info.stderr == ""  # inspection prints nothing about what it loads
    as_json = run_cli("info", "--json", "app.db", "--load-extension", flag, env=env)
    assert json.loads(as_json.stdout)["extensions"] == [flag]
    # The vec0 table's columns can only be read through the module.
    with_vec = run_cli("schema", "--format", "json", "app.db", "--load-extension", flag, env=env)
    assert vec_table_columns(with_vec)[:2] == ["item_id", "embedding"]
    without = run_cli("schema", "--format", "json", "app.db", env=env)
    assert vec_table_columns(without) == []


@needs_loading
@pytest.mark.parametrize("kind", ["dbinspect.toml", "pyproject.toml"])
def test_config_file_extensions_load_with_allow_flag(
    run_cli: RunCli, tmp_path: Path, vec: str, vec_folder: Path, kind: str
) -> None:
    write_config(tmp_path, kind, [toml_string(vec)])
    env = same_library()

    run = run_cli("migrate", "run", "-D", "sqlite:app.db", "--allow-config-extensions", env=env)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [f"loading extension {vec}"]
    check_vec_results(tmp_path / "app.db", vec)

    info = run_cli("info", "app.db", "--allow-config-extensions", env=env)
    assert info_lines(info)["Extensions"] == vec
    schema = run_cli("schema", "--format", "json", "app.db", "--allow-config-extensions", env=env)
    assert "embedding" in vec_table_columns(schema)


def test_config_file_alone_loads_nothing(run_cli: RunCli, tmp_path: Path, vec_folder: Path) -> None:
    # A path that would fail to load: nothing may even try.
    write_config(tmp_path, "dbinspect.toml", [toml_string(str(tmp_path / "planted" / "ext"))])
    env = same_library()

    run = run_cli("migrate", "run", "-D", "sqlite:app.db", env=env)
    the_error(run, "0002_embeddings.sql", "no such module: vec0")
    assert "loading extension" not in run.stderr
    assert applied(tmp_path / "app.db") == [(1, 1)]

    info = run_cli("info", "app.db", env=env)
    assert info_lines(info)["Extensions"] == "none"
    assert info.stderr == ""
    as_json = run_cli("info", "--json", "app.db", env=env)
    assert json.loads(as_json.stdout)["extensions"] == []


@needs_loading
async def test_config_file_alone_leaves_vec0_unreadable(
    run_cli: RunCli, tmp_path: Path, vec: str, vec_folder: Path
) -> None:
    write_config(tmp_path, "dbinspect.toml", [toml_string(vec)])
    env = same_library()
    built = run_cli("migrate", "run", "-D", "sqlite:app.db", "--allow-config-extensions", env=env)
    assert built.returncode == 0, built.stderr

    schema = run_cli("schema", "--format", "json", "app.db", env=env)
    assert vec_table_columns(schema) == []

    # The settings every command starts from: the config's extension waits for consent.
    settings = with_extensions(resolve_settings(database=str(tmp_path / "app.db"), cwd=tmp_path))
    assert settings.extensions.inspection == ()
    assert settings.extensions.migration == ()
    assert settings.extensions.awaiting_consent == (Extension(vec),)
    assert settings.url is not None
    backend = await SqliteBackend.open(settings.url, extensions=settings.extensions.inspection)
    try:
        assert (await backend.fetch_rows("items")).rows  # the database itself reads fine
        with pytest.raises(QueryError, match="no such module: vec0"):
            await backend.fetch_rows("embeddings")
        assert (await backend.facts()).extensions == ()
    finally:
        await backend.aclose()


def test_without_the_extension_migrate_run_stops_at_that_file(
    run_cli: RunCli, tmp_path: Path, vec_folder: Path
) -> None:
    result = run_cli("migrate", "run", "-D", "sqlite:app.db", env=same_library())

    the_error(result, "0002_embeddings.sql", "no such module: vec0")
    assert result.stderr.count("\n") == 1
    assert "Applied 1/migrate items" in result.stdout
    assert applied(tmp_path / "app.db") == [(1, 1)]  # no row at all for version 2
    conn = driver.connect(tmp_path / "app.db")
    try:
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (2,)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema")}
    finally:
        conn.close()
    assert not names & {"embeddings", "embedding_sizes"}


# --- Extensions that cannot be loaded ---------------------------------------------------


def bad_extension(tmp_path: Path, vec: str, kind: str) -> tuple[Extension, str]:
    """(what to load, a fragment the error must hold) for one kind of broken extension."""
    if kind == "missing":
        return Extension(str(tmp_path / "nowhere" / "ext.so")), "No such file"
    if kind == "not a library":
        text = tmp_path / "notes.so"
        text.write_text("not machine code\n", encoding="utf-8")
        return Extension(str(text)), "not a shared library"
    return Extension(vec, "sqlite3_nothing_init"), "sqlite3_nothing_init"


COMMANDS = {
    "info": ["info", "app.db"],
    "schema": ["schema", "app.db"],
    "migrate run": ["migrate", "run", "-D", "sqlite:app.db"],
}


@needs_loading
@pytest.mark.parametrize("kind", ["missing", "not a library", "wrong entry point"])
@pytest.mark.parametrize("command", [*COMMANDS, "migrate run (sqlx.toml)"])
def test_an_extension_that_fails_to_load_is_one_error_line(
    run_cli: RunCli, tmp_path: Path, vec: str, vec_folder: Path, kind: str, command: str
) -> None:
    extension, reason = bad_extension(tmp_path, vec, kind)
    if command.endswith("(sqlx.toml)"):
        write_sqlx_toml(tmp_path, [sqlx_entry(extension)])
        args = COMMANDS["migrate run"]
    else:
        args = [*COMMANDS[command], "--load-extension", str(extension)]
        if not command.startswith("migrate"):
            create_db(tmp_path, "CREATE TABLE t (x);", "app.db")

    result = run_cli(*args, env=same_library())

    line = the_error(result, f"cannot load extension {extension}", reason)
    if kind == "not a library":
        # The file is there: a message claiming no such file would send the user looking.
        assert "No such file" not in line
    assert applied(tmp_path / "app.db") == []
    assert result.stdout == ""


@pytest.mark.parametrize("command", [*COMMANDS, "migrate run (sqlx.toml)"])
def test_fallback_sqlite_says_it_cannot_load_extensions(
    run_cli: RunCli, tmp_path: Path, vec_folder: Path, command: str
) -> None:
    extension = str(tmp_path / "ext")
    if command.endswith("(sqlx.toml)"):
        write_sqlx_toml(tmp_path, [toml_string(extension)])
        args = COMMANDS["migrate run"]
    else:
        args = [*COMMANDS[command], "--load-extension", extension]
        if not command.startswith("migrate"):
            create_db(tmp_path, "CREATE TABLE t (x);", "app.db")

    result = run_cli(*args, env={driver.FORCE_ENV: "system"})

    the_error(result, extension, "(system)", "built without extension loading")
    assert "loading extension" not in result.stderr  # refused before anything is opened
    if command.startswith("migrate"):
        assert not (tmp_path / "app.db").exists()


# --- Loading from SQL stays denied ------------------------------------------------------


def mapped_files() -> str:
    """The files this process has mapped (shared libraries included), Linux only."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("needs /proc/self/maps to see which libraries are loaded")
    return maps.read_text(encoding="utf-8", errors="replace")


@needs_loading
@pytest.mark.parametrize("entrypoint", [None, VEC_ENTRYPOINT])
async def test_inspection_denies_load_extension_from_sql_after_loading(
    tmp_path: Path, vec: str, entrypoint: str | None
) -> None:
    # A copy of the library under another name: if SQL loaded it, the process maps it.
    planted = tmp_path / "planted" / "payload.so"
    planted.parent.mkdir()
    shutil.copyfile(f"{vec}.so", planted)
    path = create_db(
        tmp_path,
        "CREATE TABLE t (x);\nINSERT INTO t VALUES (1);\n"
        f"CREATE VIEW hostile AS SELECT load_extension('{planted}', '{VEC_ENTRYPOINT}') AS x "
        "FROM t;\n",
    )
    chosen = Extension(vec, entrypoint)
    backend = await SqliteBackend.open(parse_url(str(path)), extensions=(chosen,))
    try:
        assert backend.extensions == (chosen,)
        assert await fetch_all(backend._conn, "SELECT vec_length('[1, 2]')") == [(2,)]
        assert (await backend.facts()).extensions == (str(chosen),)
        with pytest.raises(QueryError, match="load_extension"):
            await backend.fetch_rows("hostile")
        with pytest.raises(driver.Error, match="not authorized"):
            await fetch_all(
                backend._conn, "SELECT load_extension(?, ?)", (str(planted), VEC_ENTRYPOINT)
            )
        assert (await backend.fetch_rows("t")).rows  # the connection still works
    finally:
        await backend.aclose()
    assert str(planted) not in mapped_files()


@needs_loading
def test_a_migration_cannot_load_an_extension_from_sql(
    run_cli: RunCli, tmp_path: Path, vec: str
) -> None:
    planted = tmp_path / "planted" / "payload.so"
    planted.parent.mkdir()
    shutil.copyfile(f"{vec}.so", planted)
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0001_load.sql").write_text(
        f"CREATE TABLE loaded AS SELECT load_extension('{planted}', '{VEC_ENTRYPOINT}') AS x;\n",
        encoding="utf-8",
    )

    result = run_cli(
        "migrate", "run", "-D", "sqlite:app.db", "--load-extension", vec, env=same_library()
    )

    the_error(result, "0001_load.sql", "not authorized")
    assert applied(tmp_path / "app.db") == []
