"""Refuses a command-line argument that is not UTF-8, naming it, before the command runs.

Python decodes the command line with `surrogateescape`: a byte that is not UTF-8 (bash's
`$(printf '\\xff')`) arrives as a lone surrogate, which no SQL, table name, migration
name or version can hold, and which fails with a UnicodeEncodeError wherever the text is
encoded (for the database, a file's content). Each command checks its arguments as they
are parsed (`TextCommand`), so the error says which argument it is. File paths are left
alone: a file may be named with any bytes, and the operating system takes them back as
they came (a PostgreSQL URL is checked part by part when it is read: `url.parse_url`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import click

from dbinspect.errors import ConfigError

__all__ = ["PATH_PARAMETERS", "TextCommand", "undecodable_byte"]

_SURROGATE = re.compile("[\ud800-\udfff]")

PATH_PARAMETERS = frozenset({"database", "database_url", "source"})
"""Parameters that name a file or a folder without click's `Path` type (a database is a
path or a URL): any bytes are allowed, as in every path."""


def undecodable_byte(text: str) -> tuple[int, str] | None:
    """Where `text` holds a byte that was not UTF-8: (its character index, `\\xNN`)."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    shown = f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
    return found.start(), shown


def _label(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return f"the option {max(param.opts, key=len)}"
    return f"the argument {param.human_readable_name}"


def _texts(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


def _is_path(param: click.Parameter) -> bool:
    return isinstance(param.type, click.Path) or param.name in PATH_PARAMETERS


class TextCommand(click.Command):
    """A command whose text arguments must be UTF-8: one `error:` line names the first
    that is not, before click converts anything (a VERSION would else be "not a valid
    integer") and before the command runs."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(_SURROGATE.search(arg) for arg in args):
            self._refuse_undecodable(ctx, args)
        return super().parse_args(ctx, args)

    def _refuse_undecodable(self, ctx: click.Context, args: list[str]) -> None:
        # click's own parser tells which parameter each word belongs to; a word it cannot
        # place is left to the parse that follows, which reports it as usual.
        try:
            opts, _, _ = self.make_parser(ctx).parse_args(args=list(args))
        except click.UsageError:
            return
        helping = self.get_help_option(ctx)
        if helping is not None and helping.name is not None and opts.get(helping.name) is True:
            return  # --help answers whatever else is given
        arguments = [p.name or "" for p in self.get_params(ctx) if isinstance(p, click.Argument)]
        given = [name for name in arguments if list(_texts(opts.get(name)))]
        if arguments[:1] == ["database"] and len(arguments) == 2 and given == ["database"]:
            # `query SQL`, `export TABLE`: one word is the second argument, the database
            # coming from --database-url (as the command itself reads it).
            opts[arguments[1]] = opts.pop("database", None)
        for param in self.get_params(ctx):
            if param.name is None or _is_path(param):
                continue
            for text in _texts(opts.get(param.name)):
                found = undecodable_byte(text)
                if found is not None:
                    index, shown = found
                    raise ConfigError(
                        f"{_label(param)} is not valid UTF-8 "
                        f"(the byte {shown} at character {index + 1})",
                        "write it in UTF-8",
                    )
