"""Which SQLite extensions to load, from flags, `sqlx.toml` and dbinspect's config file.

Loading an extension runs native code, so where a name comes from decides when it loads:
- `--load-extension PATH[:ENTRYPOINT]` on the command line: the user said so; it loads
  into every connection of that command, inspection and migrations alike;
- `[drivers.sqlite] unsafe-load-extensions` in `sqlx.toml`: sqlx-cli loads these for its
  migrate commands, so dbinspect's migrate commands (and the app's migration actions) do
  too, printing each one; inspection does not load them;
- `load-extensions` in `dbinspect.toml` / `[tool.dbinspect]`: a file in a cloned
  repository, so nothing loads without `--allow-config-extensions` (or a confirmation
  that lists the paths, in the app).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dbinspect.errors import ConfigError

if TYPE_CHECKING:
    from dbinspect.config import Settings

_ENTRYPOINT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Extension(NamedTuple):
    """A SQLite extension: a path or name, and its entry point when not the default."""

    path: str
    entrypoint: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.entrypoint}" if self.entrypoint else self.path


class ExtensionChoice(NamedTuple):
    """The extensions of one command, by the connections they load into."""

    inspection: tuple[Extension, ...] = ()
    """Loaded into reading connections: flags, and config-file ones once allowed."""
    migration: tuple[Extension, ...] = ()
    """Loaded into migration connections: `sqlx.toml`'s, then the inspection ones."""
    awaiting_consent: tuple[Extension, ...] = ()
    """Named by the config file but not allowed (yet): the app asks about these."""


def parse_extension_option(text: str) -> Extension:
    """`PATH` or `PATH:ENTRYPOINT`, as `--load-extension` takes it.

    Only a suffix that is a C identifier is an entry point, so a path holding a `:` of
    its own still works.
    """
    path, colon, entry = text.rpartition(":")
    if colon and path and _ENTRYPOINT.fullmatch(entry):
        return Extension(path, entry)
    if not text.strip():
        raise ConfigError("--load-extension needs a path")
    return Extension(text)


def parse_extension_list(value: Any, origin: Path, key: str) -> tuple[Extension, ...]:
    """Read a list in sqlx's form: `"name"` or `{ path = "name", entrypoint = "init" }`."""
    if not isinstance(value, list):
        raise ConfigError(f"{origin}: {key} must be a list")
    found: list[Extension] = []
    for item in value:
        if isinstance(item, str) and item:
            found.append(Extension(item))
        elif (
            isinstance(item, Mapping)
            and set(item) == {"path", "entrypoint"}
            and all(isinstance(item[k], str) and item[k] for k in ("path", "entrypoint"))
        ):
            found.append(Extension(item["path"], item["entrypoint"]))
        else:
            raise ConfigError(
                f"{origin}: {key}: each entry must be a path, or "
                '{ path = "...", entrypoint = "..." }'
            )
    return tuple(found)


def sqlx_extensions(document: Mapping[str, Any], origin: Path) -> tuple[Extension, ...]:
    """`[drivers.sqlite] unsafe-load-extensions` of a parsed `sqlx.toml`."""
    drivers = document.get("drivers", {})
    sqlite = drivers.get("sqlite", {}) if isinstance(drivers, Mapping) else None
    if not isinstance(sqlite, Mapping):
        raise ConfigError(f"{origin}: [drivers.sqlite] must be a table")
    if "unsafe-load-extensions" not in sqlite:
        return ()
    return parse_extension_list(sqlite["unsafe-load-extensions"], origin, "unsafe-load-extensions")


def choose_extensions(
    *,
    flags: Sequence[str],
    config: tuple[Extension, ...],
    sqlx: tuple[Extension, ...],
    allow_config: bool,
) -> ExtensionChoice:
    """Combine the three sources by the rules in this module's docstring."""
    chosen = tuple(parse_extension_option(text) for text in flags)
    if allow_config:
        chosen = (*config, *chosen)
    waiting = () if allow_config else config
    return ExtensionChoice(chosen, (*sqlx, *chosen), waiting)


def config_extensions(values: Mapping[str, Any], origin: Path | None) -> tuple[Extension, ...]:
    """`load-extensions` of dbinspect's config file (loaded only once allowed)."""
    if "load-extensions" not in values or origin is None:
        return ()
    return parse_extension_list(values["load-extensions"], origin, "load-extensions")


def allow_config_extensions(settings: Settings) -> Settings:
    """`settings` once the user agreed to load the config file's extensions (in the app)."""
    choice = settings.extensions
    allowed = ExtensionChoice(
        (*choice.awaiting_consent, *choice.inspection),
        (*choice.migration, *choice.awaiting_consent),
    )
    return settings._replace(
        extensions=allowed, sqlx=settings.sqlx._replace(extensions=allowed.migration)
    )
