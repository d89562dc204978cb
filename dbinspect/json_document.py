"""Writes the large JSON documents (`schema --format json`, `check --json`) in C.

They are laid out as `json.dumps(value, indent=2, ensure_ascii=False)` lays them out, but
the standard library's encoder is pure Python as soon as it indents: 0.44 s for the 13 MB
document of a 2,000-table PostgreSQL schema, where orjson writes the same text in 0.02 s.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["indented"]


def indented(value: Any) -> str:
    """`value` as `json.dumps(value, indent=2, ensure_ascii=False)` writes it.

    A float may be written in another form that reads back as the same number (`1e16`
    for `1e+16`).
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        # What orjson refuses and the standard library writes: an integer beyond 64 bits,
        # a key that is not a string, a lone surrogate (a name that was not UTF-8).
        return json.dumps(value, indent=2, ensure_ascii=False)
