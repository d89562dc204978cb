"""Whole batches of rows in each export format, column by column: the export's hot loop.

`encode` defines the text of each value; this writes the same text for a batch of rows
several times faster. Calling a function per value costs more than the rest of an
export, so each column of a batch is looked at once, by the types its values have (in
C: `set(map(type, ...))`). Where every value of a column is written as Python's `%s`
writes it (an integer, a finite real, text that needs no quoting or escaping) the column
is left to one `%`-template per row, which formats the row in C; text that needs quotes
all round gets them from the template, its inner quotes doubled in one pass over the
column. Any other column (NULLs, BLOBs, mixed types, text with a NUL) goes value by
value through `encode`'s own functions, and a batch the templates cannot take at all
(an integer too long for `%s`) goes row by row. Either way the bytes are those of
`encode`: the tests compare the two on every kind of value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from dbinspect.export.encode import (
    COPY_END_MARKER,
    CSV_NEEDS_QUOTES,
    INT64_MAX,
    INT64_MIN,
    SURROGATE,
    Format,
    csv_field,
    csv_record,
    file_bytes,
    json_bytes,
    json_keys,
    json_line,
    json_string,
    json_text,
    postgres_insert,
    sql_insert,
    sql_insert_prefix,
    sql_literal,
    sql_target,
)
from dbinspect.export.insert import PLAIN_INSERT, InsertShape
from dbinspect.models import SqlDialect, Value

if TYPE_CHECKING:
    from dbinspect.browse.protocol import Relation

Column = tuple[Value, ...]
Reals = tuple[float, ...]
Field = tuple[str, Sequence[object]]
"""A column's part of the row template, and the values (or texts) it formats."""

_NUMBERS: frozenset[type] = frozenset({int, float})
_SEPARATOR = "\x1f"
"""Joins a column's texts, to look at them all at once (checked to be absent from them)."""


def _joined_texts(values: Column) -> str | None:
    """The column's values joined by `_SEPARATOR` if all are text (the join checks it)."""
    if type(values[0]) is not str:
        return None
    try:
        return _SEPARATOR.join(values)  # type: ignore[arg-type]
    except TypeError:
        return None


def _doubled(joined: str, count: int, quote: str) -> list[str] | None:
    """The joined texts again, each with `quote` doubled; None if one held the separator."""
    if joined.count(_SEPARATOR) != count - 1:
        return None
    return joined.replace(quote, quote + quote).split(_SEPARATOR)


def _csv_column(values: Column) -> Field:
    joined = _joined_texts(values)
    if joined is not None:
        texts = cast("tuple[str, ...]", values)
        plain = "" not in texts and COPY_END_MARKER not in texts
        if plain and not CSV_NEEDS_QUOTES.search(joined):
            return "%s", texts
        if all(map(CSV_NEEDS_QUOTES.search, texts)):  # each one is quoted: quote them all
            if '"' not in joined:
                return '"%s"', texts
            doubled = _doubled(joined, len(texts), '"')
            if doubled is not None:
                return '"%s"', doubled
    elif set(map(type, values)) <= _NUMBERS:  # `%s` writes a real as repr() does
        return "%s", values
    return "%s", list(map(csv_field, values))


def _json_column(values: Column) -> Field:
    if _joined_texts(values) is not None:
        return "%s", list(map(json_string, cast("tuple[str, ...]", values)))
    kinds = set(map(type, values))
    if kinds == {int} or (kinds == {float} and all(map(math.isfinite, cast(Reals, values)))):
        return "%s", values
    return "%s", list(map(json_text, values))


def _sql_column(values: Column) -> Field:
    joined = _joined_texts(values)
    if joined is not None:
        if "\x00" not in joined and (joined.isascii() or not SURROGATE.search(joined)):
            if "'" not in joined:
                return "'%s'", values
            doubled = _doubled(joined, len(values), "'")
            if doubled is not None:
                return "'%s'", doubled
    else:
        kinds = set(map(type, values))
        if kinds == {int}:
            integers = cast("tuple[int, ...]", values)
            if INT64_MIN <= min(integers) and max(integers) <= INT64_MAX:
                return "%s", values
        elif kinds == {float}:
            reals = _sql_reals(cast(Reals, values))
            if reals is not None:
                return "%s", reals
    return "%s", list(map(sql_literal, values))


_REAL_FORMS = {1: "%d.0"} | {1 << k: f"(%d.0/{1 << k})" for k in range(1, 63)}
"""`sql_real`'s text of a real by the denominator `as_integer_ratio` gives it."""
_EXACT_INTEGERS = float(1 << 53)


def _sql_reals(values: Reals) -> list[str] | None:
    """Each real as `sql_real` writes it, in one pass over the column (no call per value);
    None when one needs `sql_literal`'s other cases: zero (its sign), an infinity, NaN,
    an integer past 2**53 or a denominator past 2**62."""
    if 0.0 in values or not -_EXACT_INTEGERS <= min(values) <= max(values) <= _EXACT_INTEGERS:
        return None
    try:
        return [_REAL_FORMS[d] % n for n, d in map(float.as_integer_ratio, values)]
    except (KeyError, ValueError):  # a small denominator, or NaN
        return None


def _by_columns(
    rows: Sequence[Sequence[Value]],
    column: Callable[[Column], Field],
    template: Callable[[list[str]], str],
) -> str | None:
    """The rows formatted through per-column fields; None when the templates cannot."""
    if not rows:
        return None
    try:
        columns = list(zip(*rows, strict=True))
        if not columns:
            return None
        fields = [column(values) for values in columns]
        row_template = template([field for field, _ in fields])
        if all(texts is values for (_, texts), values in zip(fields, columns, strict=True)):
            if set(map(type, rows)) == {tuple}:  # `%` takes a tuple's items as its arguments
                return "".join(map(row_template.__mod__, rows))
        texts = zip(*[texts for _, texts in fields], strict=True)
        return "".join(map(row_template.__mod__, texts))
    except ValueError:  # rows of unequal length, or an integer too long for `%s`
        return None


def _escaped(text: str) -> str:
    return text.replace("%", "%%")


def csv_records(rows: Sequence[Sequence[Value]]) -> str:
    """The CSV records of `rows`, each as `encode.csv_record` writes it."""
    text = _by_columns(rows, _csv_column, lambda fields: ",".join(fields) + "\r\n")
    return "".join([csv_record(row) for row in rows]) if text is None else text


def json_lines(keys: Sequence[str], rows: Sequence[Sequence[Value]]) -> str:
    """The JSON Lines of `rows`, each as `encode.json_line` writes it."""
    text = _by_columns(
        rows,
        _json_column,
        lambda fields: (
            "{"
            + ", ".join(_escaped(key) + field for key, field in zip(keys, fields, strict=True))
            + "}\n"
        ),
    )
    return "".join([json_line(keys, row) for row in rows]) if text is None else text


def sql_inserts(prefix: str, rows: Sequence[Sequence[Value]]) -> str:
    """The INSERT statements of `rows`, each as `encode.sql_insert` writes it."""
    text = _by_columns(
        rows, _sql_column, lambda fields: _escaped(prefix) + ", ".join(fields) + ");\n"
    )
    return "".join([sql_insert(prefix, row) for row in rows]) if text is None else text


def bytea_as_text(rows: Sequence[Sequence[Value]]) -> Sequence[Sequence[Value]]:
    """`rows` with each bytes value in PostgreSQL's text form of bytea (`\\x` then hex),
    as `COPY ... CSV` writes it and reads it back."""
    if not rows:
        return rows
    columns = enumerate(zip(*rows, strict=True))
    places = [i for i, column in columns if bytes in set(map(type, column))]
    if not places:
        return rows
    converted: list[tuple[Value, ...]] = []
    for row in rows:
        items = list(row)
        for place in places:
            value = items[place]
            if isinstance(value, bytes):
                items[place] = "\\x" + value.hex()
        converted.append(tuple(items))
    return converted


class RowEncoder:
    """Turns pages of one relation's rows into one format's bytes."""

    def __init__(
        self,
        fmt: Format,
        relation: Relation,
        columns: Sequence[str],
        sql_dialect: SqlDialect = "sqlite",
        insert: InsertShape = PLAIN_INSERT,
    ) -> None:
        self.fmt = fmt
        self.sql_dialect = sql_dialect
        self._keys = json_keys(columns)
        self._columns = tuple(columns)
        kept = [i for i, name in enumerate(columns) if name not in insert.generated]
        self._kept = None if len(kept) == len(columns) else kept
        names = [columns[i] for i in kept]
        self._prefix = sql_insert_prefix(
            relation.name, names, relation.schema, overriding=insert.overriding
        )
        self._default_row = (
            None
            if names
            else f"INSERT INTO {sql_target(relation.name, relation.schema)} DEFAULT VALUES;\n"
        )

    def head(self) -> bytes:
        """What comes before the first row: CSV's header record, SQL's `BEGIN;`."""
        if self.fmt == "csv":
            return file_bytes(csv_record(self._columns))
        return b"BEGIN;\n" if self.fmt == "sql" else b""

    def rows(self, rows: Sequence[Sequence[Value]]) -> bytes:
        """The records of `rows`."""
        if self.fmt == "csv":
            if self.sql_dialect == "postgres":
                rows = bytea_as_text(rows)
            return file_bytes(csv_records(rows))
        if self.fmt == "jsonl":
            return json_bytes(json_lines(self._keys, rows))
        if self._default_row is not None:  # no column takes a value (PostgreSQL's `()`)
            return file_bytes(self._default_row * len(rows))
        if self._kept is not None:
            kept = self._kept
            rows = [tuple([row[i] for i in kept]) for row in rows]
        if self.sql_dialect == "postgres":
            return file_bytes("".join([postgres_insert(self._prefix, row) for row in rows]))
        return file_bytes(sql_inserts(self._prefix, rows))

    def tail(self) -> bytes:
        """What comes after the last row: SQL's `COMMIT;`."""
        return b"COMMIT;\n" if self.fmt == "sql" else b""
