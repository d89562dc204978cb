"""Package attributes imported on first use (PEP 562 `__getattr__` and `__dir__`).

A package that re-exports its modules' names would otherwise import all of them with
itself, and every command would pay for the heaviest one.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_attributes(
    package: str, homes: Mapping[str, str], exported: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`.

    Args:
        package: The package's `__name__`.
        homes: Each lazily exported name and the module that defines it.
        exported: The package's `__all__`, listed by `dir()`.
    """
    names = sorted(exported)

    def getattr_(name: str) -> Any:
        if name in homes:
            return getattr(importlib.import_module(homes[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return getattr_, dir_
