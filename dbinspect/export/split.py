"""A large export read and written by worker processes, one part of the rows each.

One Python process reads and encodes about 350,000 rows a second, whatever the
format: fetching rows and formatting them both hold the interpreter's lock, so threads
do not help. Where the backend can say how (`RowSplitter`), the rows are split by
position among up to `MAX_PARTS` processes, one a processor: each runs the same
statement and writes its part, the first from row 0 into the export's own temporary
file, the others each from their first row into a temporary file of their own, which
is appended to the first once every part is written.

The parts begin one after another, so each reads its own snapshot of the database. They
are one snapshot when nothing was committed between the plan and the moment every part
has begun (`SplitRead.unchanged`); otherwise the parts are stopped and the caller reads
the rows in one pass instead, as it does whenever a part fails (text that is not UTF-8,
which the one-pass reader shows escaped; an error, which it then reports itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from dbinspect.browse.protocol import Relation, RowPager, RowSplitter, SplitRead
from dbinspect.export.encode import Format
from dbinspect.export.insert import PLAIN_INSERT, InsertShape, insert_shape
from dbinspect.models import RowQuery

MAX_PARTS = 4
SPLIT_MIN_ROWS = 200_000
"""Below this a single pass is quicker than starting the workers (about 0.1 s each)."""
NAME_KEPT = 100
"""Characters of the export's temporary name that begin each part's name."""
STARTED = b"started"
"""A worker's first line: its read has begun (its snapshot is taken)."""

Progress = Callable[[int], None]


def parts_wanted(rows: int) -> int:
    """How many processes share `rows`: one a processor, none for a small export."""
    if rows < SPLIT_MIN_ROWS:
        return 1
    return max(1, min(MAX_PARTS, os.cpu_count() or 1, rows // SPLIT_MIN_ROWS))


async def export_in_parts(
    pager: RowPager,
    relation: Relation,
    query: RowQuery,
    fmt: Format,
    out: BinaryIO,
    out_path: Path,
    on_progress: Progress | None = None,
) -> int | None:
    """Write the export into `out` (the empty temporary file at `out_path`) in parts.

    Returns the number of rows written, or None when it was not done in parts (the
    backend cannot, the export is small, the database changed as the parts began, or a
    part failed); `out` may then hold some bytes, which the caller discards.
    """
    splitter = pager
    if os.name != "posix" or not isinstance(splitter, RowSplitter):
        return None  # the workers inherit their file's descriptor, which Windows cannot pass
    read = await splitter.split_read(relation, query)
    if read is None:
        return None
    try:
        parts = parts_wanted(read.rows)
        if parts < 2:
            return None
        insert = await insert_shape(pager, relation) if fmt == "sql" else PLAIN_INSERT
        return await _run_parts(read, relation, fmt, insert, parts, out, out_path, on_progress)
    finally:
        await read.close()


async def _run_parts(
    read: SplitRead,
    relation: Relation,
    fmt: Format,
    insert: InsertShape,
    parts: int,
    out: BinaryIO,
    out_path: Path,
    on_progress: Progress | None,
) -> int | None:
    size = -(-read.rows // parts)  # the last part also takes any rows added meanwhile
    files = [out.fileno()]
    paths: list[Path] = []
    workers: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(parts - 1):
            # The export's name cut short: a part's name must fit wherever the export's does.
            fd, name = tempfile.mkstemp(
                dir=out_path.parent, prefix=f"{out_path.name[:NAME_KEPT]}.", suffix=".part"
            )
            files.append(fd)
            paths.append(Path(name))
        for index, fd in enumerate(files):
            last = index == parts - 1
            job = read.job | {
                "fd": fd,
                "offset": index * size,
                "limit": None if last else size,
                "fmt": fmt,
                "relation": (relation.schema, relation.name),
                "columns": read.columns,
                "generated": sorted(insert.generated),
                "overriding": insert.overriding,
                "head": index == 0,
                "tail": last,
            }
            workers.append(await _start(read.worker, job, fd))
        counts = [0] * parts
        begun = [asyncio.get_running_loop().create_future() for _ in workers]
        watching = asyncio.gather(
            *(
                _watch(worker, begun[index], index, counts, on_progress)
                for index, worker in enumerate(workers)
            )
        )
        # Whatever ends the export, the watchers' outcome is retrieved: one left unread is
        # logged, traceback and all, when it is collected.
        watching.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            if not all(await asyncio.gather(*begun)) or not await read.unchanged():
                return None
            await asyncio.shield(watching)
        finally:
            watching.cancel()
        if any(await asyncio.gather(*(worker.wait() for worker in workers))):
            return None
        for path in paths:
            await asyncio.to_thread(_append, path, out)
        return sum(counts)
    finally:
        # Everything that cannot wait first: a second cancel (the dialog closing) may
        # interrupt the wait for the workers to end, which then goes on by itself.
        for worker in workers:
            if worker.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.kill()
            if worker.stdin is not None:
                worker.stdin.close()
        for fd in files[1:]:
            os.close(fd)
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if workers:
            await asyncio.shield(asyncio.gather(*(worker.wait() for worker in workers)))


async def _start(module: str, job: dict[str, object], fd: int) -> asyncio.subprocess.Process:
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-P",  # not the working folder first on the path: a `pickle.py` there is not run
        "-m",
        module,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        pass_fds=(fd,),
    )
    assert worker.stdin is not None
    # The pipe stays open: a worker whose parent is gone sees it close, and stops.
    worker.stdin.write(pickle.dumps(job))
    await worker.stdin.drain()
    return worker


async def _watch(
    worker: asyncio.subprocess.Process,
    begun: asyncio.Future[bool],
    index: int,
    counts: list[int],
    on_progress: Progress | None,
) -> None:
    """Follow a worker's lines until it ends: first that its read began (`STARTED`),
    then its rows written so far. `begun` is False if it ended before beginning."""
    assert worker.stdout is not None
    try:
        async for line in worker.stdout:
            if line.strip() == STARTED:
                if not begun.done():  # cancelled meanwhile, with the export
                    begun.set_result(True)
            elif line.strip().isdigit():
                counts[index] = int(line)
                if on_progress is not None:
                    on_progress(sum(counts))
    finally:
        if not begun.done():
            begun.set_result(False)


def _append(path: Path, out: BinaryIO) -> None:
    """Copy the part at `path` to the end of `out` (the workers wrote its descriptor)."""
    out.seek(0, os.SEEK_END)
    with open(path, "rb") as part:
        shutil.copyfileobj(part, out, 1 << 20)
    out.flush()
