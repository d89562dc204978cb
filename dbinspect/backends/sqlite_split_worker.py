"""One part of a large SQLite export, in a process of its own (see `export.split`).

Run as `python -m dbinspect.backends.sqlite_split_worker`, it reads its job (a pickle
from its parent) on stdin: the file to open and how, the statement (ending in
`LIMIT -1 OFFSET ?`) and its parameters, its part's first row and row count, the format,
and the descriptor to write to. It opens the file as the backend's readers do (read-only,
hardened; with the console's authorizer when the statement is the user's), prints
`started` once its read has begun, then the rows written so far every few batches.

Exit codes: 0 done; 3 text that is not UTF-8 (the parent's one-pass reader shows it
escaped); 1 any other failure. The parent closing stdin (or dying) ends it at once.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
from typing import Any

from dbinspect import sqlite_driver as driver
from dbinspect.backends.sqlite_guard import HARDENING_PRAGMAS, ConsoleConnection, HardenedConnection
from dbinspect.browse.protocol import Relation
from dbinspect.export.batch import RowEncoder
from dbinspect.export.insert import InsertShape

UNDECODED = 3
CHUNK_ROWS = 1000
"""Rows read per batch, as the one-pass export reads them."""
PROGRESS_EVERY = 50
"""Batches between progress lines."""


def run(job: dict[str, Any]) -> int:
    """Write this part; return the exit code."""
    factory = ConsoleConnection if job["guarded"] else HardenedConnection
    conn = driver.connect(
        job["target"], uri=job["uri"], timeout=job["timeout"], isolation_level=None, factory=factory
    )
    conn.text_factory = str  # strict, in C: text that is not UTF-8 is the parent's to show
    for pragma in HARDENING_PRAGMAS:
        conn.execute(pragma)
    conn.execute("BEGIN")  # one snapshot from the first step on
    if job["guarded"]:
        conn.guarding = True  # type: ignore[attr-defined]
    schema, name = job["relation"]
    insert = InsertShape(frozenset(job.get("generated", ())), job.get("overriding", False))
    encoder = RowEncoder(job["fmt"], Relation(schema, name), job["columns"], insert=insert)
    limit: int | None = job["limit"]
    written = batches = 0
    with os.fdopen(job["fd"], "wb", buffering=1 << 20) as out:
        if job["head"]:
            out.write(encoder.head())
        cursor = conn.execute(job["sql"], [*job["params"], job["offset"]])
        while True:
            wanted = CHUNK_ROWS if limit is None else min(CHUNK_ROWS, limit - written)
            rows = cursor.fetchmany(wanted) if wanted > 0 else []
            if batches == 0:
                print("started", flush=True)
            if not rows:
                break
            out.write(encoder.rows(rows))
            written += len(rows)
            batches += 1
            if batches % PROGRESS_EVERY == 0:
                print(written, flush=True)
        if job["tail"]:
            out.write(encoder.tail())
    print(written, flush=True)
    conn.close()
    return 0


def _end_with_parent() -> None:
    """Exit as soon as stdin closes: the parent stopped the export, or is gone.

    Unbuffered reads: a thread blocked inside `sys.stdin.buffer` holds its lock, and the
    interpreter aborts at exit when it cannot take it.
    """
    while os.read(0, 4096):
        pass
    os._exit(1)


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C: the parent cleans up, quietly
    job = pickle.load(sys.stdin.buffer)
    threading.Thread(target=_end_with_parent, daemon=True).start()
    try:
        return run(job)
    except UnicodeDecodeError:
        return UNDECODED
    except driver.Error as error:
        if driver.primary_code(error) is None and "decode" in str(error).lower():
            return UNDECODED
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
