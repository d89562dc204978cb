"""Loads the rows of a PostgreSQL `json` backup, a table at a time, with `COPY`.

Every failure names the table it happened in: a value its type does not read, a row the
file cut short, a constraint of the table's own.
"""

from __future__ import annotations

from typing import Any

from dbinspect import pg_driver
from dbinspect.errors import OperationError
from dbinspect.ops.backup import Progress
from dbinspect.ops.json_backup_lines import BackupLines

sql = pg_driver.sql

PROGRESS_BYTES = 1 << 16
"""Progress is reported each time this many more bytes of the backup are read."""


def load_rows(
    conn: pg_driver.Connection[tuple[Any, ...]], backup: BackupLines, progress: Progress | None
) -> None:
    """COPY each table's rows (the lines after the head), a line at a time.

    Raises:
        OperationError: A table's rows do not go in, or the file is damaged or cut short
            inside them; the line names the table.
    """
    reported = 0
    for about in backup.tables():
        label = f"rows of {about['schema']}.{about['name']}"
        target = sql.Identifier(about["schema"], about["name"])
        try:
            if not about["columns"]:
                _load_empty_rows(conn, target, backup)
                continue
            copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
                target, sql.SQL(", ").join(map(sql.Identifier, about["columns"]))
            )
            with conn.cursor() as cursor, cursor.copy(copy) as rows:
                for row in backup.rows():
                    rows.write_row(tuple(row.values()))
                    if progress is not None and backup.read - reported >= PROGRESS_BYTES:
                        reported = backup.read
                        progress(reported, None)
        except pg_driver.Error as error:
            reason = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            raise OperationError(f"{label}: {reason}") from None
        except OperationError as error:
            raise OperationError(f"{label}: {error.message}", error.hint) from None


def _load_empty_rows(
    conn: pg_driver.Connection[tuple[Any, ...]], target: sql.Composable, backup: BackupLines
) -> None:
    """A table with no columns to write (none at all, or only generated ones): its rows
    are only a count, and `COPY t () FROM STDIN` is not SQL. Each row takes the
    defaults (a generated column computes itself)."""
    count = sum(1 for _ in backup.rows())
    if count:
        conn.execute(
            sql.SQL("INSERT INTO {} SELECT FROM generate_series(1, {})").format(
                target, sql.Literal(count)
            )
        )
