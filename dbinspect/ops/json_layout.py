"""Writes a large JSON document indented at its top levels and compact below.

`json.dumps(indent=2)` runs Python's pure-Python encoder (the C one takes no indent):
seconds for the 13 MB document of a 2,000-table PostgreSQL schema. Here the outer levels
are laid out by hand, one line per entry, and each flat object (a column, an index, a
sequence) is one line from the C encoder: the same values, readable and diffable line by
line, in a fraction of the time.
"""

from __future__ import annotations

import json
from typing import Any

_string = json.encoder.encode_basestring  # the C function: quotes and escapes
_encoder = json.JSONEncoder(ensure_ascii=False, check_circular=False)


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# One C encoder made once: `JSONEncoder.encode` builds a new one on every call, which
# costs more than encoding a column.
_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # None without the C module
_c_encoder = (
    _make_encoder(None, _refuse, _string, None, ": ", ", ", False, False, True)
    if _make_encoder is not None
    else None
)


def _compact(value: Any) -> str:
    """`value` as `json.dumps(value, ensure_ascii=False)` writes it."""
    if _c_encoder is None:
        return _encoder.encode(value)
    return "".join(_c_encoder(value, 0))


def dumps(value: Any, *, depth: int = 4, indent: int = 2) -> str:
    """`value` as JSON, one line per entry of each container that holds objects.

    Containers nested `depth` deep, and flat ones (no object inside, as a column or an
    index), are written on one line each.
    """
    parts: list[str] = []
    _write(value, depth, indent, 0, parts)
    return "".join(parts)


def _spread(value: Any, level: int, depth: int) -> bool:
    """Whether `value` is written over several lines: it holds objects, or lists of them.

    A column, an index or a sequence (plain values and lists of names) is one line.
    """
    if level >= depth or type(value) not in (dict, list) or not value:
        return False
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is dict and item:
            return True
        if kind is list and any(type(element) is dict for element in item):
            return True
    return False


def _write(value: Any, depth: int, indent: int, level: int, parts: list[str]) -> None:
    if not _spread(value, level, depth):
        parts.append(_scalar(value) if type(value) not in (dict, list) else _compact(value))
        return
    inner = ",\n" + " " * (indent * (level + 1))
    first = inner[1:]
    append = parts.append
    if type(value) is dict:
        append("{")
        for key, item in value.items():
            append(first + _string(str(key)) + ": ")
            first = inner
            if _spread(item, level + 1, depth):
                _write(item, depth, indent, level + 1, parts)
            else:  # written here: a call per column costs more than the column's encoding
                append(_scalar(item) if type(item) not in (dict, list) else _compact(item))
        append("\n" + " " * (indent * level) + "}")
        return
    append("[")
    if level + 1 >= depth or not any(_spread(item, level + 1, depth) for item in value):
        # A list of columns or indexes, each one line: encoded in one sweep.
        append(first + inner.join(map(_one_line, value)))
    else:
        for item in value:
            append(first)
            first = inner
            if _spread(item, level + 1, depth):
                _write(item, depth, indent, level + 1, parts)
            else:
                append(_one_line(item))
    append("\n" + " " * (indent * level) + "]")


def _one_line(value: Any) -> str:
    return _scalar(value) if type(value) not in (dict, list) else _compact(value)


def _scalar(value: Any) -> str:
    """A plain value as `json.dumps` writes it, without the encoder's set-up per call."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is int:
        return int.__repr__(value)
    return _compact(value)
