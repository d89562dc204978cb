"""Turns database values into grid cells, detail text, and clipboard TSV or JSON."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text

from dbinspect.models import Value
from dbinspect.tui.panes.common import human_size
from dbinspect.tui.sanitize import NULL_STYLE, safe_text

NUMBER_STYLE = "cyan"
BLOB_STYLE = "magenta"
NOTE_STYLE = "dim"
MAX_CELL_WIDTH = 40
"""The widest a column is made from its values; longer values end with `…`."""


def is_number(value: Value) -> bool:
    """Whether a value is shown right-aligned as a number."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def cell_text(value: Value, full_size: int | None = None) -> Text:
    """One cell as it appears in the grid: one line, kinds visibly distinct, never markup.

    NULL is a dim italic `NULL`, the empty string a dim `""`, numbers are coloured, a
    BLOB shows its size and first bytes, line breaks show as `↵`.

    Args:
        value: The (possibly cut) value.
        full_size: The value's full length when it was cut for the grid.
    """
    if value is None:
        return Text("NULL", style=NULL_STYLE)
    if isinstance(value, bytes):
        size = full_size if full_size is not None else len(value)
        preview = value[:8].hex(" ")
        return Text(f"<blob {human_size(size)}> {preview}", style=BLOB_STYLE)
    if isinstance(value, float):
        return Text(format_float(value), style=NUMBER_STYLE)
    if isinstance(value, int):
        return Text(str(value), style=NUMBER_STYLE)
    if value == "":
        return Text('""', style=NOTE_STYLE)
    text = Text()
    # Only as much as a cell can show is escaped and styled: a cut value is 256 chars.
    for number, line in enumerate(value[:400].split("\n")):
        if number:
            text.append("↵", style=NOTE_STYLE)
        text.append_text(safe_text(line))
    return text


def cell_note(value: Value, full_size: int | None) -> Text | None:
    """The size note shown after a cell cut short, e.g. `[1.0 MB]`."""
    if full_size is None or isinstance(value, bytes):
        return None
    return Text(f" [{full_size:,} chars]", style=NOTE_STYLE)


def fit(text: Text, width: int, *, right: bool = False, note: Text | None = None) -> Text:
    """Cut or pad `text` to exactly `width` cells, keeping a note visible at the end."""
    if note is not None and cell_len(note.plain) < width:
        body = text.copy()
        body.truncate(width - cell_len(note.plain), overflow="ellipsis")
        text = body + note
    else:
        text = text.copy()
    text.no_wrap = True
    text.truncate(width, overflow="ellipsis", pad=False)
    if right:
        text.pad_left(width - text.cell_len)
    else:
        text.pad_right(width - text.cell_len)
    return text


def column_width(name: str, values: Sequence[Value]) -> int:
    """A column's width from its name and a sample of its values (a long name is cut)."""
    widest = max((cell_text(v).cell_len for v in values), default=0)
    return max(4, min(MAX_CELL_WIDTH, cell_len(name) + 2), min(MAX_CELL_WIDTH, widest))


def format_float(value: float) -> str:
    """A float as SQLite's shell shows it, with `inf`, `-inf` and `NaN` spelled out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def tsv_field(value: Value) -> str:
    """A value as one TSV field: tabs and line breaks escaped, NULL empty."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        return format_float(value)
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def row_tsv(columns: Sequence[str], values: Sequence[Value]) -> str:
    """A header line and one row, tab separated."""
    header = "\t".join(tsv_field(c) for c in columns)
    return header + "\n" + "\t".join(tsv_field(v) for v in values) + "\n"


def json_value(value: Value) -> object:
    """A value JSON can hold: BLOBs as base64, non-finite floats as strings."""
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, float) and not math.isfinite(value):
        return format_float(value)
    return value


def row_json(columns: Sequence[str], values: Sequence[Value]) -> str:
    """One row as a JSON object keyed by column name."""
    record = {c: json_value(v) for c, v in zip(columns, values, strict=True)}
    return json.dumps(record, ensure_ascii=False, indent=2)


def clip_value(value: Value) -> str:
    """A cell as copied on its own: text as is, BLOB as hex, NULL as `NULL`."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float):
        return format_float(value)
    return str(value)


class _Number(str):
    """A JSON number as written: `1.00000000000000000001` and `1e400` are not floats."""


class _Pairs(list[tuple[str, object]]):
    """A JSON object's members in order, a repeated key included (`json` keeps the last)."""


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def pretty_json(value: str) -> str | None:
    """`value` pretty-printed when it is a JSON object or array, else None.

    Exactly what the text says, as psql shows it: numbers as written (a float would round
    them), every member of an object even when a key repeats (the `json` type keeps them).
    The standard encoder can do neither, hence the few lines of `_indented`.
    """
    stripped = value.lstrip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(
            value,
            parse_float=_Number,
            parse_int=_Number,
            parse_constant=_refuse_constant,
            object_pairs_hook=_Pairs,
        )
    except ValueError:
        return None
    parts: list[str] = []
    _indented(parsed, 0, parts)
    return "".join(parts)


def _indented(value: object, level: int, parts: list[str]) -> None:
    inner, outer = "\n" + "  " * (level + 1), "\n" + "  " * level
    if isinstance(value, _Pairs | list) and not value:
        parts.append("{}" if isinstance(value, _Pairs) else "[]")
    elif isinstance(value, _Pairs):
        for number, (key, item) in enumerate(value):
            parts.append(("{" if number == 0 else ",") + inner)
            parts.append(json.dumps(key, ensure_ascii=False) + ": ")
            _indented(item, level + 1, parts)
        parts.append(outer + "}")
    elif isinstance(value, list):
        for number, item in enumerate(value):
            parts.append(("[" if number == 0 else ",") + inner)
            _indented(item, level + 1, parts)
        parts.append(outer + "]")
    elif isinstance(value, _Number):
        parts.append(str.__str__(value))
    else:
        parts.append(json.dumps(value, ensure_ascii=False))


def hex_dump(data: bytes, limit: int = 4096) -> str:
    """An `xxd`-style dump of the first `limit` bytes: offset, hex, printable ASCII."""
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        chunk = data[offset : offset + 16]
        hex_part = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        ascii_part = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}: {hex_part:<39}  {ascii_part}")
    return "\n".join(lines)
