"""Sets up logging from `--log-file` and `DBINSPECT_LOG`, for the CLI and the app alike."""

from __future__ import annotations

import logging
import os
from typing import Any

from dbinspect.errors import ConfigError
from dbinspect.textsafe import escape_controls

LEVELS = ("debug", "info", "warning", "error", "critical")


class EscapingFormatter(logging.Formatter):
    """Formats records with their messages escaped: they quote file names and descriptions.

    A log is read with `tail -f` or `less -R`, so an ESC in a migration's name must not
    reach that terminal, and a newline in it must not forge a second record. Tracebacks
    keep their lines.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return escape_controls(super().formatException(ei), keep="\n")

    def formatStack(self, stack_info: str) -> str:
        return escape_controls(super().formatStack(stack_info), keep="\n")


def configure_logging(log_file: str | None, level_name: str | None = None) -> None:
    """Send dbinspect's log records to `log_file`, at `DBINSPECT_LOG` level (default info).

    Without a log file and without `DBINSPECT_LOG`, nothing is logged: the terminal
    belongs to the command's output (or the app's screen).
    """
    level_name = (level_name or os.environ.get("DBINSPECT_LOG") or "").strip().lower()
    if level_name and level_name not in LEVELS:
        raise ConfigError(f"DBINSPECT_LOG={level_name!r} is not a level", "use " + "|".join(LEVELS))
    if not log_file and not level_name:
        return
    logger = logging.getLogger("dbinspect")
    logger.setLevel(getattr(logging, (level_name or "info").upper()))
    handler: logging.Handler
    if log_file:
        try:
            handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{log_file}: cannot write log file: {error.strerror}") from None
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
