"""The `--load-extension` and `--allow-config-extensions` options every database command takes.

The options store what they were given in click's context rather than in each command's
parameters, so every command gets them from `extension_options` and `with_extensions`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dbinspect.cli_output import say

if TYPE_CHECKING:
    from dbinspect.config import Settings

F = TypeVar("F", bound=Callable[..., Any])
_FLAGS = "dbinspect.load_extensions"
_ALLOW = "dbinspect.allow_config_extensions"


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def store(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        ctx.meta[key] = value

    return store


def extension_options(func: F) -> F:
    """Add the two extension options to a command."""
    func = click.option(
        "--allow-config-extensions",
        is_flag=True,
        expose_value=False,
        callback=_remember(_ALLOW),
        help="Also load the extensions that dbinspect.toml's load-extensions names.",
    )(func)
    func = click.option(
        "--load-extension",
        "load_extension",
        multiple=True,
        metavar="PATH[:ENTRYPOINT]",
        expose_value=False,
        callback=_remember(_FLAGS),
        help="Load a SQLite extension into every connection (repeatable).",
    )(func)
    return func


def with_extensions(settings: Settings, *, announce: bool = False) -> Settings:
    """`settings` with the extensions this command's options and config files choose.

    Args:
        settings: Resolved from flags, environment and files.
        announce: The command runs migrations: print each extension a migration
            connection will load (on stderr, so `--json` output stays clean), as sqlx-cli
            users see what runs.

    Raises:
        ConfigError: This SQLite cannot load extensions, and the command would load some.
    """
    from dbinspect.extensions import choose_extensions, config_extensions

    ctx = click.get_current_context(silent=True)
    meta = ctx.meta if ctx is not None else {}
    choice = choose_extensions(
        flags=meta.get(_FLAGS, ()),
        config=config_extensions(settings.file_config.values, settings.file_config.origin),
        sqlx=settings.sqlx.extensions,
        allow_config=bool(meta.get(_ALLOW, False)),
    )
    # Only what this command loads counts: inspection never loads sqlx.toml's extensions,
    # so `info` and `schema` keep working where this SQLite cannot load any.
    needed = choice.migration if announce else choice.inspection
    if needed:
        # Only then: the SQLite driver is a large library a PostgreSQL session never uses.
        from dbinspect.sqlite_driver import can_load_extensions, library_description
    if needed and not can_load_extensions():
        from dbinspect.errors import ConfigError

        raise ConfigError(
            f"cannot load {needed[0]}: this Python's SQLite "
            f"({library_description()}) was built without extension loading",
            "install dbinspect's bundled SQLite: pip install sqlean.py",
        )
    if announce:
        for extension in choice.migration:
            say(f"loading extension {extension}", err=True)
    return settings._replace(
        extensions=choice, sqlx=settings.sqlx._replace(extensions=choice.migration)
    )
