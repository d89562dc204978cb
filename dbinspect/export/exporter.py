"""Streams a relation's rows, as browsed (filtered and sorted), into a CSV, JSON Lines or
SQL file, a batch at a time, in bounded memory.

A backend that can (`RowStreamer`: SQLite) reads the rows in one pass; any other is paged
by key through the backend-neutral `RowPager`, with whole cell values. A large export to
a file is read and written by several processes where the backend can say how
(`RowSplitter`, see `split`). Either way a
5,000,000-row table costs one batch of memory. A file is written beside its target under
a temporary name (created exclusively, mode 0600, so no planted file or symlink is written
through) and renamed over the target only when complete: a failed or cancelled export
leaves no file, and never half of one. The export keeps mode 0600: rows are often private.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncGenerator, Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from dbinspect.browse.protocol import Relation, RowBatch, RowPager, RowStreamer
from dbinspect.errors import DbInspectError
from dbinspect.export.batch import RowEncoder
from dbinspect.export.encode import (
    EXTENSIONS,
    Format,
)
from dbinspect.export.insert import PLAIN_INSERT, insert_shape
from dbinspect.export.split import export_in_parts
from dbinspect.models import RowQuery
from dbinspect.textsafe import file_stem

CHUNK_ROWS = 1000
"""Rows read per batch or page: enough that each read costs little beside its rows, few
enough that a batch stays in the processor's cache while it is encoded."""

Progress = Callable[[int], None]
"""Told the number of rows written so far, after each batch."""


class ByteSink(Protocol):
    """Where an export's bytes go: a binary file, or the command line's stdout."""

    def write(self, data: bytes, /) -> object:
        """Write all of `data`."""
        ...


class ExportError(DbInspectError):
    """The export file could not be written (the message names it)."""


async def write_rows(
    pager: RowPager,
    relation: Relation,
    query: RowQuery,
    fmt: Format,
    out: ByteSink,
    *,
    on_progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Write every row `query` selects from `relation` to `out`; return how many.

    Rows come in browsing order, `chunk_rows` at a time: in one pass where the backend
    can (`RowStreamer`), else page by page, each page read after the last one's key.
    Either way the next rows are read (on the backend's thread) while these are written.
    Cancelling stops the export and the read in flight.
    """
    encoder: RowEncoder | None = None
    written = 0
    insert = await insert_shape(pager, relation) if fmt == "sql" else PLAIN_INSERT
    async with contextlib.aclosing(_batches(pager, relation, query, chunk_rows)) as batches:
        async for batch in batches:
            if encoder is None:
                encoder = RowEncoder(fmt, relation, batch.columns, pager.sql_dialect, insert)
                out.write(encoder.head())
            if not batch.rows:
                continue
            out.write(encoder.rows(batch.rows))
            written += len(batch.rows)
            if on_progress is not None:
                on_progress(written)
    if encoder is not None:
        out.write(encoder.tail())
    return written


def _batches(
    pager: RowPager, relation: Relation, query: RowQuery, chunk_rows: int
) -> AsyncGenerator[RowBatch, None]:
    if isinstance(pager, RowStreamer):
        return pager.stream_rows(relation, query, batch_rows=chunk_rows)
    return _pages(pager, relation, query, chunk_rows)


async def _pages(
    pager: RowPager, relation: Relation, query: RowQuery, chunk_rows: int
) -> AsyncGenerator[RowBatch, None]:
    """Pages by key, the first always (so the columns are known), the next read ahead."""
    page = await pager.fetch_page(relation, query, limit=chunk_rows, cell_limit=None)
    while True:
        following = None
        if len(page.rows) == chunk_rows:
            following = asyncio.ensure_future(
                pager.fetch_page(
                    relation, query, after=page.keys[-1], limit=chunk_rows, cell_limit=None
                )
            )
        try:
            yield RowBatch(page.columns, page.rows)
        except BaseException:
            if following is not None:
                following.cancel()
            raise
        if following is None:
            return
        page = await following


async def export_to_file(
    pager: RowPager,
    relation: Relation,
    query: RowQuery,
    fmt: Format,
    target: Path,
    *,
    on_progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Export to `target`, replacing it only once every row is written; return the count.

    Raises:
        ExportError: The file or its temporary neighbour could not be written.
        DbInspectError: The rows could not be read (no temporary file is left).
    """
    fd, temp = _create_beside(target)
    try:
        with os.fdopen(fd, "wb") as out:
            count = await export_in_parts(pager, relation, query, fmt, out, temp, on_progress)
            if count is None:  # not in parts: in one pass, over whatever a part wrote
                out.seek(0)
                out.truncate()
                count = await write_rows(
                    pager, relation, query, fmt, out, on_progress=on_progress, chunk_rows=chunk_rows
                )
        os.replace(temp, target)  # replaces a symlink at `target` itself, never its target
    except OSError as error:
        _remove(temp)
        raise ExportError(f"cannot write {target}: {error.strerror or error}") from None
    except BaseException:  # a read error, a cancel: no half-written file stays
        _remove(temp)
        raise
    return count


@contextlib.contextmanager
def replacing_file(target: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A new file beside `target` (mode 0600, created exclusively), open for writing, that
    replaces `target` when the block ends without an error and is removed otherwise.

    For writers that are not row exports (backups), with the same guarantees: never half
    a file, never a write through a planted link. A writer that needs a path (SQLite's
    backup API) closes the file and writes the temporary path. The data reaches the disk
    before the rename, so a crash leaves the old file or the whole new one.

    Raises:
        ExportError: The file or its temporary neighbour could not be written.
    """
    fd, temp = _create_beside(target)
    out = os.fdopen(fd, "wb")
    try:
        yield out, temp
        if out.closed:
            with open(temp, "rb+") as written:
                os.fsync(written.fileno())
        else:
            out.flush()
            os.fsync(out.fileno())
            out.close()
        os.replace(temp, target)  # replaces a symlink at `target` itself, never its target
    except OSError as error:
        _discard(out, temp)
        raise ExportError(f"cannot write {target}: {error.strerror or error}") from None
    except BaseException:
        _discard(out, temp)
        raise


def _discard(out: BinaryIO, temp: Path) -> None:
    with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
        out.close()
    _remove(temp)


def _create_beside(target: Path) -> tuple[int, Path]:
    """A new temporary file in `target`'s folder, open for writing."""
    if target.is_dir():
        raise ExportError(f"cannot export to {target}: it is a directory")
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as error:  # O_CREAT | O_EXCL, mode 0600: never through a planted link
        raise ExportError(f"cannot write {target}: {error.strerror or error}") from None
    return fd, Path(name)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def default_target(relation: Relation, fmt: Format, folder: Path | None = None) -> Path:
    """`<table>.<ext>` in `folder` (the working directory), the name made safe as a file
    name that a dialog shows (see `file_stem`)."""
    stem = file_stem(relation.name) or "export"
    return (folder or Path.cwd()) / f"{stem[:200]}.{EXTENSIONS[fmt]}"
