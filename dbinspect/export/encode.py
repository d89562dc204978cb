"""One SQLite value in each export format, exactly, and whole rows in each format.

The choices, per format (README.md, "Exporting rows", says the same):

CSV (RFC 4180): fields separated by `,`, records ended by CRLF, a field quoted with `"`
(inner `"` doubled) when it is empty or holds `,`, `"`, CR or LF, or is `\\.` (which
PostgreSQL's COPY FROM reads, alone on a line, as the end of the data). NULL is an empty
unquoted field and the empty text is `""`, as the sqlite3 shell writes them. CSV has no
types: an integer is its digits, a real its shortest round-trip form (`0.1`, `-0.0`,
`1e+100`, `inf`, `-inf`, `nan`), a BLOB `X'hex'` (SQLite's literal; the shell would write
raw bytes, losing everything from the first NUL on). Use JSON Lines or SQL to keep types.

JSON Lines: one strict JSON object per row (no `NaN` or `Infinity` tokens), keyed by
column name. NULL is `null`, integers of any size are exact JSON integers, a finite real is
a JSON number (`-0.0` kept), text a JSON string. Values JSON cannot hold are tagged
objects, which no other value can be mistaken for: a BLOB is `{"$blob": "<hex>"}`, a
non-finite real `{"$real": "Infinity"}`, `"-Infinity"` or `"NaN"`.

SQL: one `INSERT INTO "table"("col", ...) VALUES(...);` per row, all between `BEGIN;` and
`COMMIT;`, in the SQL of the database the rows come from (PostgreSQL: `postgres_literal`).
On SQLite, literals SQLite reads back as the same value and type: NULL, integers, reals
(bit for bit, see `sql_real`; infinities as `1e999` and `-1e999`, NaN as NULL), `X'hex'`
BLOBs, text in `'...'` with `''` for a quote; a NUL in text is `char(0)` concatenated,
and an integer outside 64 bits (which SQLite cannot store) is written as text digits.

Text that was not UTF-8 in the database reaches Python as lone surrogates U+DC80..U+DCFF
(`surrogateescape`): CSV and SQL files get the original bytes back (SQL through
`CAST(X'..' AS TEXT)`), JSON writes them as `\\udcXX` escapes. Any other lone surrogate is
written in its three-byte form.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Literal

from dbinspect.models import Value

Format = Literal["csv", "jsonl", "sql"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "sql")
EXTENSIONS: dict[Format, str] = {"csv": "csv", "jsonl": "jsonl", "sql": "sql"}

RAW_SURROGATES = "dbinspect-raw-surrogates"
"""The codec error handler writing a surrogate-escaped byte as that byte."""

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
_MANTISSA_SCALE = 1 << 53
CSV_NEEDS_QUOTES = re.compile(r'[",\r\n]')
COPY_END_MARKER = "\\."
"""A field PostgreSQL's COPY FROM would read, alone on a line, as the end of the data:
quoted, as COPY TO writes it."""
_UNICODE_BREAKS = re.compile("[\x85\u2028\u2029]")
SURROGATE = re.compile("[\ud800-\udfff]")
json_string: Callable[[str], str] = json.encoder.encode_basestring


def _raw_surrogates(error: UnicodeError) -> tuple[bytes, int]:
    """Encode U+DC80..U+DCFF as the byte each stands for, other surrogates as CESU bytes."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = bytearray()
    for char in error.object[error.start : error.end]:
        code = ord(char)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(code - 0xDC00)
        else:
            out += char.encode("utf-8", "surrogatepass")
    return bytes(out), error.end


codecs.register_error(RAW_SURROGATES, _raw_surrogates)


def file_bytes(text: str) -> bytes:
    """The bytes a CSV or SQL export writes for `text`: UTF-8, escaped bytes restored."""
    return text.encode("utf-8", RAW_SURROGATES)


def integer_text(number: int) -> str:
    """The decimal digits of any integer (Python refuses `str()` past 4,300 digits)."""
    try:
        return str(number)
    except ValueError:
        pass
    sign, rest = ("-", -number) if number < 0 else ("", number)
    chunks: list[int] = []
    base = 10**1000
    while rest:
        rest, chunk = divmod(rest, base)
        chunks.append(chunk)
    head, *tail = reversed(chunks)
    return sign + str(head) + "".join(f"{chunk:01000d}" for chunk in tail)


# CSV ------------------------------------------------------------------------------------


def csv_field(value: Value) -> str:
    """One CSV field (see the module's notes), quoted when RFC 4180 needs it."""
    if value is None:
        return ""
    if isinstance(value, str):
        if not value or CSV_NEEDS_QUOTES.search(value) or value == COPY_END_MARKER:
            return '"' + value.replace('"', '""') + '"'
        return value
    if isinstance(value, float):
        return repr(value)  # also inf, -inf and nan, as Python and most CSV readers parse them
    if isinstance(value, int):
        return integer_text(int(value))  # int(): True is 1, as SQLite stores it
    return "X'" + value.hex().upper() + "'"


def csv_record(values: Sequence[Value]) -> str:
    """One CSV record, CRLF included."""
    return ",".join([csv_field(value) for value in values]) + "\r\n"


# JSON Lines -----------------------------------------------------------------------------


def json_text(value: Value) -> str:
    """One value as strict JSON text (see the module's notes)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return json_string(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return '{"$real": "' + name + '"}'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return integer_text(value)
    return '{"$blob": "' + value.hex() + '"}'


def json_line(keys: Sequence[str], values: Sequence[Value]) -> str:
    """One JSON Lines record, its newline included; `keys` are `json_keys(columns)`."""
    return (
        "{"
        + ", ".join([key + json_text(value) for key, value in zip(keys, values, strict=True)])
        + "}\n"
    )


def json_keys(columns: Sequence[str]) -> list[str]:
    """Each column's `"name": ` prefix; a repeated name gets `:2`, `:3`, ... (as SQLite
    names a view's repeated columns), so no value hides another."""
    seen: set[str] = set()
    keys = []
    for column in columns:
        name, n = column, 1
        while name in seen:
            n += 1
            name = f"{column}:{n}"
        seen.add(name)
        keys.append(json_string(name) + ": ")
    return keys


def json_bytes(text: str) -> bytes:
    """JSON Lines' bytes: UTF-8, with a lone surrogate and the characters other readers
    take for a line break (NEL, U+2028, U+2029) as `\\uXXXX` escapes. They can only stand
    inside strings, where the escape is the same character to a parser."""
    escaped = _UNICODE_BREAKS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return escaped.encode("utf-8", "backslashreplace")


def decode_json_value(value: object) -> Value:
    """The SQLite value a JSON Lines value stands for (the inverse of `json_text`)."""
    if isinstance(value, dict):
        if set(value) == {"$blob"}:
            return bytes.fromhex(value["$blob"])
        if set(value) == {"$real"}:
            return float({"Infinity": "inf", "-Infinity": "-inf"}.get(value["$real"], "nan"))
        raise ValueError(f"not an exported value: {value!r}")
    if value is None or isinstance(value, (int, float, str)):
        return value
    raise ValueError(f"not an exported value: {value!r}")


# SQL ------------------------------------------------------------------------------------


def sql_identifier(name: str) -> str:
    """A name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: Value) -> str:
    """One value as a SQLite literal that reads back as the same value and storage class."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return _sql_text(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return sql_real(value)
        return "NULL" if math.isnan(value) else ("1e999" if value > 0 else "-1e999")
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return str(int(value))
        return "'" + integer_text(value) + "'"
    return "X'" + value.hex().upper() + "'"


def postgres_literal(value: Value) -> str:
    """One value as a PostgreSQL literal that reads back as the same value in its column.

    Values come as the driver gives them (numbers and bytes native, the other types as
    the server's own text), so a quoted literal, whose type the column decides, is exact:
    a float's shortest round-trip text (`'NaN'`, `'Infinity'`, `'-0'` included, which no
    bare number spells), bytes in bytea's hex form `'\\x...'`.
    """
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, float):
        if math.isnan(value):
            return "'NaN'"
        if math.isinf(value):
            return "'Infinity'" if value > 0 else "'-Infinity'"
        return "'-0'" if value == 0 and math.copysign(1.0, value) < 0 else repr(value)
    if isinstance(value, int):
        return str(int(value))
    return "'\\x" + value.hex() + "'"


def sql_real(value: float) -> str:
    """A finite real as SQL that SQLite computes exactly, whatever its version.

    SQLite's reading of a decimal literal is not always correctly rounded (3.40 misreads
    `6.2578431e-07`, 3.50 as built here `1e-249`), so only an integer-valued real is
    written as one (`12.0`, read exactly up to 2**53). Any other is its 53-bit mantissa
    times or divided by powers of two: `(3602879701896397.0/36028797018963968)` is 0.1.
    Every step is exact in IEEE arithmetic: the result is the value, bit for bit.
    `float.as_integer_ratio` (in C) gives that odd mantissa and power of two directly.
    """
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    mantissa, denominator = value.as_integer_ratio()
    if denominator != 1:  # not an integer: the mantissa is odd, the denominator 2**steps
        operator, steps = "/", denominator.bit_length() - 1
    elif -_MANTISSA_SCALE <= mantissa <= _MANTISSA_SCALE:
        return f"{mantissa}.0"
    else:  # a large integer: its odd part times 2**steps
        steps = (mantissa & -mantissa).bit_length() - 1
        operator, mantissa = "*", mantissa >> steps
    if steps <= 62:
        return f"({mantissa}.0{operator}{1 << steps})"
    parts = [f"{mantissa}.0"]
    while steps:
        step = min(steps, 62)
        parts.append(str(1 << step))
        steps -= step
    return "(" + operator.join(parts) + ")"


def _sql_text(text: str) -> str:
    if SURROGATE.search(text):
        return "CAST(X'" + file_bytes(text).hex().upper() + "' AS TEXT)"
    if "\x00" in text:
        return "||char(0)||".join(
            ["'" + part.replace("'", "''") + "'" for part in text.split("\x00")]
        )
    return "'" + text.replace("'", "''") + "'"


def sql_target(table: str, schema: str | None = None) -> str:
    """`"schema"."table"`, or `"table"` without a schema."""
    target = sql_identifier(table)
    return target if schema is None else sql_identifier(schema) + "." + target


def sql_insert_prefix(
    table: str, columns: Sequence[str], schema: str | None = None, *, overriding: bool = False
) -> str:
    """`INSERT INTO "table"("a", "b") VALUES(`: the start every row's statement shares.

    `overriding` adds PostgreSQL's `OVERRIDING SYSTEM VALUE`, without which a value for
    a `GENERATED ALWAYS AS IDENTITY` column is refused (as `pg_dump --inserts` writes it).
    """
    names = ", ".join(sql_identifier(column) for column in columns)
    clause = " OVERRIDING SYSTEM VALUE" if overriding else ""
    return f"INSERT INTO {sql_target(table, schema)}({names}){clause} VALUES("


def sql_insert(prefix: str, values: Sequence[Value]) -> str:
    """One INSERT statement, newline included; `prefix` from `sql_insert_prefix`."""
    return prefix + ", ".join([sql_literal(value) for value in values]) + ");\n"


def postgres_insert(prefix: str, values: Sequence[Value]) -> str:
    """One INSERT statement for PostgreSQL (`postgres_literal`), newline included."""
    return prefix + ", ".join([postgres_literal(value) for value in values]) + ");\n"
