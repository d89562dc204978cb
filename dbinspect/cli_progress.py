"""Shows a long command's progress and throughput on stderr, only when it is a terminal."""

from __future__ import annotations

import sys
import time
from types import TracebackType

_EVERY_S = 0.2
"""Redraw at most this often: a line per step would cost more than the step."""


class TerminalProgress:
    """A callable `(done_bytes, total_bytes_or_None)` that redraws one status line.

    In a pipe, a log or CI it writes nothing: the result line says what was done.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty()
        self._start = time.monotonic()
        self._drawn = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._drawn < _EVERY_S:
            return
        self._drawn = now
        rate = done / max(now - self._start, 1e-6)
        amount = (
            f"{_megabytes(done)}"
            if total is None
            else (f"{done * 100 // max(total, 1)}% of {_megabytes(total)}")
        )
        sys.stderr.write(f"\r\x1b[K{self.label}: {amount}, {_megabytes(rate)}/s")
        sys.stderr.flush()

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.enabled and self._drawn:
            sys.stderr.write("\r\x1b[K")  # the result or error line takes its place
            sys.stderr.flush()


def _megabytes(count: float) -> str:
    return f"{count / 1e6:,.1f} MB"
