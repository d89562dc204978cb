"""PostgreSQL's checks for `check`: `amcheck` on btree indexes, where it is installed.

`check` never installs anything: `CREATE EXTENSION` would change the inspected database.
Where amcheck is not installed, that is said in one line and the rest of `check` runs.
"""

from __future__ import annotations

from typing import NamedTuple

from dbinspect import pg_driver as driver
from dbinspect.errors import OperationError
from dbinspect.url import DatabaseUrl

# The btree indexes amcheck can verify: ones with storage (relkind 'i'; a partitioned
# index, 'I', is only a catalog entry over its partitions' indexes, which are listed
# themselves), valid, ready and live (a `CREATE INDEX CONCURRENTLY` still building, or a
# `DROP INDEX CONCURRENTLY` under way, has an index amcheck refuses or cannot trust), and
# not temporary: another session's temp tables can be read by no other session.
_BTREE_INDEXES = """
SELECT c.oid, format('%I.%I', n.nspname, c.relname)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_am a ON a.oid = c.relam
WHERE a.amname = 'btree' AND c.relkind = 'i' AND c.relpersistence <> 't'
  AND i.indisvalid AND i.indisready AND i.indislive
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
ORDER BY 2
"""
_STILL_THERE = "SELECT 1 FROM pg_class WHERE oid = %s::oid"


class AmcheckResult(NamedTuple):
    """What amcheck found, or why it did not run."""

    installed: bool
    checked: int
    """Indexes checked."""
    problems: tuple[str, ...]
    """One line per index amcheck found corrupt (the server's message)."""


def run_amcheck(url: DatabaseUrl) -> AmcheckResult:
    """`bt_index_check` on every btree index, when amcheck is installed; else nothing.

    `bt_index_check` takes only an AccessShareLock, as a SELECT does: writers go on.

    Raises:
        ConnectError: The server cannot be reached.
        OperationError: The catalog cannot be read.
    """
    conn = driver.connect(url, read_only=True, path="guarded")
    try:
        found = conn.execute(
            "SELECT format('%I', n.nspname) FROM pg_extension e "
            "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'amcheck'"
        ).fetchone()
        if found is None:
            return AmcheckResult(False, 0, ())
        # An index check may take longer than an inspection query's timeout.
        conn.execute("SET statement_timeout = 0")
        indexes = conn.execute(_BTREE_INDEXES).fetchall()
        problems = []
        check = f"SELECT {found[0]}.bt_index_check(%s::oid)"
        for oid, name in indexes:
            try:
                conn.execute(check, (oid,))
            except driver.Error as error:
                if driver.server_lost(error):
                    raise
                if conn.execute(_STILL_THERE, (oid,)).fetchone() is None:
                    continue  # dropped since it was listed: nothing to verify
                message = str(error).strip().splitlines()[0] if str(error).strip() else ""
                problems.append(f"index {name}: {message}")
        return AmcheckResult(True, len(indexes), tuple(problems))
    except driver.Error as error:
        raise OperationError(f"cannot run amcheck on {url.masked}: {error}") from error
    finally:
        conn.close()
