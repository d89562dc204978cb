"""PostgreSQL faults on the command line: each is one `error:` line and exit status 1.

A wrong password needs a server that checks passwords: the shared test server trusts
local connections, so a private one is started for it (initdb, scram-sha-256).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pgkit import query, run_sql
from testkit import RunCli, clean_env

PASSWORD = "s3cret pass"


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        done = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        candidate = Path(done.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def password_server() -> Iterator[str]:
    """The URL (without password) of a private server that demands PASSWORD."""
    bindir = _postgres_bin()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("initdb is not installed: the password test needs its own server")
        pytest.skip("initdb is not installed")
    # PostgreSQL refuses to run as root: as root, the server runs as the postgres user.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base = Path(tempfile.mkdtemp(prefix="dbi-pgauth-"))
    port = _free_port()
    try:
        (base / "pw").write_text(PASSWORD + "\n")
        if as_user:
            shutil.chown(base, "postgres")
            shutil.chown(base / "pw", "postgres")
        data, pw_file = str(base / "data"), f"--pwfile={base / 'pw'}"
        initdb = [*as_user, str(bindir / "initdb"), "-D", data, "-U", "postgres"]
        subprocess.run([*initdb, "-A", "scram-sha-256", pw_file], check=True, capture_output=True)
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=10"
        pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", data]
        subprocess.run(
            [*pg_ctl, "-l", str(base / "log"), "-o", options, "-w", "start"],
            check=True,
            capture_output=True,
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=False, capture_output=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_wrong_password_is_one_line_without_it(
    password_server: str, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    wrong = password_server.replace("postgres@", "postgres:n0t-it@")
    line = one_line_error(run_cli("info", wrong), "refused the password", "PGPASSWORD")
    assert "n0t-it" not in line and "***" in line
    missing = run_cli("schema", "--format", "json", password_server)
    one_line_error(missing, "refused the password")
    right = password_server.replace("postgres@", "postgres:s3cret%20pass@")
    done = run_cli("info", "--json", right)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["port"] == int(password_server.rsplit(":", 1)[1].split("/")[0])
    assert PASSWORD not in done.stdout and "s3cret" not in facts["url"]
    dumped = run_cli("schema", "--format", "sql", right)  # pg_dump gets it too, not on argv
    assert dumped.returncode == 0, dumped.stderr
    assert "PostgreSQL database dump" in dumped.stdout


def test_an_unknown_database_is_one_line(
    pg_url: str, run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/no_such_database_here"
    for command in (("info",), ("schema", "--format", "json"), ("schema", "--format", "sql")):
        one_line_error(run_cli(*command, missing), "database does not exist", "psql -l")


def test_a_refused_connection_is_one_line(
    run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    port = _free_port()  # nothing listens there once the probe is closed
    one_line_error(
        run_cli("info", f"postgres://postgres@127.0.0.1:{port}/db"),
        "nothing is listening there",
    )


def test_a_server_that_never_answers_is_a_timeout_in_one_line(
    run_cli: RunCli, one_line_error: Callable[..., str]
) -> None:
    """A listener that accepts and says nothing, as behind a black-holing firewall."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        done = run_cli("info", f"postgres://postgres@127.0.0.1:{port}/db?connect_timeout=2")
        one_line_error(done, "no answer from the server within 2 s")
        assert accepted  # it did reach the listener
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        silent.close()


def test_a_backend_terminated_during_a_command_is_one_line(
    pg_url: str, run_cli: RunCli, one_line_error: Callable[..., str], tmp_path: Path
) -> None:
    """`info` waits for a lock on `_sqlx_migrations`; its backend is ended meanwhile."""
    import psycopg

    run_sql(
        pg_url,
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,"
        " installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,"
        " checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)",
    )
    holder = psycopg.connect(pg_url)
    holder.execute("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")

    command = subprocess.Popen(
        [sys.executable, "-m", "dbinspect", "info", pg_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
    )
    try:
        waiting = (
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'dbinspect'"
            " AND wait_event_type = 'Lock' AND datname = current_database()"
        )
        found: list[tuple[object, ...]] = []
        deadline = time.monotonic() + 30
        while not found and time.monotonic() < deadline and command.poll() is None:
            found = query(pg_url, waiting)
            time.sleep(0.02)
        assert found, "the command never waited for the lock"
        query(pg_url, "SELECT pg_terminate_backend(%s)", (found[0][0],))
        out, err = command.communicate(timeout=30)
    finally:
        command.kill()
        holder.close()
    result = subprocess.CompletedProcess(command.args, command.returncode, out, err)
    one_line_error(result, "connection to", "was lost", "run it again")
    assert out == ""


def test_the_read_only_state_and_the_latest_migration(pg_url: str, run_cli: RunCli) -> None:
    run_sql(
        pg_url,
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,"
        " installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL,"
        " checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL);"
        " INSERT INTO _sqlx_migrations (version, description, success, checksum,"
        " execution_time) VALUES (20240101000000, 'create users', true, '\\x00', 5),"
        " (20240102000000, 'add index', true, '\\x00', 7),"
        " (20240103000000, 'broken one', false, '\\x00', -1);"
        " CREATE SCHEMA elsewhere;"  # another tool's table off the search path: not read
        " CREATE TABLE elsewhere._sqlx_migrations (version BIGINT);"
        " INSERT INTO elsewhere._sqlx_migrations VALUES (99999999999999)",
    )
    database = pg_url.rsplit("/", 1)[1]
    run_sql(pg_url, f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
    done = run_cli("info", "--json", pg_url)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["latest_migration"] == {
        "version": 20240103000000,
        "description": "broken one",
        "installed_on": facts["latest_migration"]["installed_on"],
        "success": False,
        "applied": 2,
        "failed": 1,
    }
    assert facts["read_only_default"] is True
    assert facts["read_only_state"].startswith("read-only by default")
    text = run_cli("info", pg_url)
    lines = dict(line.split(":", 1) for line in text.stdout.splitlines())
    assert lines["Latest migration"].strip().startswith("20240103000000 broken one")
    assert "FAILED" in lines["Latest migration"] and "2 applied, 1 failed" in text.stdout
    assert lines["Server"].strip().startswith("read-only by default")


def test_libpq_variables_and_pgpass_work_as_with_psql(
    password_server: str, run_cli: RunCli, one_line_error: Callable[..., str], tmp_path: Path
) -> None:
    port = password_server.rsplit(":", 1)[1].split("/")[0]
    env = {"PGHOST": "127.0.0.1", "PGPORT": port, "PGUSER": "postgres"}
    with_password = {**env, "PGPASSWORD": PASSWORD}
    by_variable = run_cli("info", "--json", "postgres:///postgres", env=with_password)
    assert by_variable.returncode == 0, by_variable.stderr
    facts = json.loads(by_variable.stdout)
    assert (facts["host"], facts["port"], facts["user"]) == ("127.0.0.1", int(port), "postgres")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{port}:*:postgres:{PASSWORD}\n")
    passfile.chmod(0o600)
    with_file = {**env, "PGPASSFILE": str(passfile)}
    assert run_cli("info", "postgres:///postgres", env=with_file).returncode == 0
    dumped = run_cli("schema", "--format", "sql", "postgres:///postgres", env=with_file)
    assert dumped.returncode == 0, dumped.stderr  # pg_dump reads the same file
    one_line_error(
        run_cli("info", f"{password_server}?sslmode=require", env=with_file),
        "cannot connect to",
        "SSL",
    )
    # No host anywhere: the default Unix socket, as with psql and sqlx.
    no_host = {"PGHOST": "", "PGHOSTADDR": ""}
    by_socket = run_cli("info", "--json", "postgres:///postgres?user=postgres", env=no_host)
    assert by_socket.returncode == 0, by_socket.stderr
    assert json.loads(by_socket.stdout)["host"].startswith("/")
    one_line_error(run_cli("info", "postgres:db", env=no_host), "not a PostgreSQL URL")
