"""Batches of rows encode to exactly the bytes that `encode` gives row by row.

The batch encoders take whole columns through `%`-templates where they can; these tests
give them columns of every shape (one type, mixed types, text needing quotes or not, the
values `%s` writes differently) and compare with the per-row functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from dbinspect.export.batch import csv_records, json_lines, sql_inserts
from dbinspect.export.encode import (
    csv_record,
    json_keys,
    json_line,
    sql_insert,
    sql_insert_prefix,
    sql_real,
)
from dbinspect.models import Value

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

plain_texts = st.text(alphabet=st.sampled_from("abc xyz019-:._{}"), min_size=1)
tricky_texts = st.text(alphabet=st.sampled_from("a,\"'\r\n\x00\x1f%\u2028\udcff\u00e9 "))
integers = st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
reals = st.floats()
finite_reals = st.floats(allow_nan=False, allow_infinity=False)
anything: st.SearchStrategy[Value] = st.one_of(
    st.none(), integers, reals, plain_texts, tricky_texts, st.binary(max_size=8),
    st.booleans(), st.integers(min_value=-(1 << 80), max_value=1 << 80),
)  # fmt: skip
COLUMN_KINDS: list[st.SearchStrategy[Value]] = [
    plain_texts,
    tricky_texts,
    tricky_texts.filter(lambda t: any(c in t for c in ',"\r\n')),  # every value quoted
    integers,
    finite_reals,
    reals,
    st.one_of(integers, finite_reals),
    st.one_of(st.none(), plain_texts),
    anything,
]


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[Value, ...]]:
    """Rows whose columns each hold one kind of value, as columns of a table mostly do."""
    kinds = draw(st.lists(st.sampled_from(COLUMN_KINDS), min_size=1, max_size=5))
    count = draw(st.integers(min_value=1, max_value=12))
    columns = [draw(st.lists(kind, min_size=count, max_size=count)) for kind in kinds]
    return list(zip(*columns, strict=True))


SETTINGS = settings(max_examples=400, deadline=None)
NAMES = ["id", "50% off", 'say "hi"', "id", "x"]


def reference(rows: Sequence[Sequence[Value]]) -> tuple[str, str, str]:
    width = len(rows[0])
    keys = json_keys(NAMES[:width])
    prefix = sql_insert_prefix("100%", NAMES[:width])
    return (
        "".join(csv_record(row) for row in rows),
        "".join(json_line(keys, row) for row in rows),
        "".join(sql_insert(prefix, row) for row in rows),
    )


def batched(rows: Sequence[Sequence[Value]]) -> tuple[str, str, str]:
    width = len(rows[0])
    return (
        csv_records(rows),
        json_lines(json_keys(NAMES[:width]), rows),
        sql_inserts(sql_insert_prefix("100%", NAMES[:width]), rows),
    )


@SETTINGS
@given(batches())
def test_a_batch_is_written_as_its_rows_one_by_one(rows: list[tuple[Value, ...]]) -> None:
    assert batched(rows) == reference(rows)


def test_the_shapes_the_templates_take_and_those_they_leave() -> None:
    shapes: list[list[tuple[Value, ...]]] = [
        [(1, "a", 0.5), (2, "b", -0.0), (3, "c", 1e100)],  # all through the templates
        [(1, 'x,"y"'), (2, "\r\n"), (3, '""')],  # every text quoted, quotes doubled
        [(1, "a\x1fb,"), (2, "c,")],  # the separator used to double quotes, in a value
        [("",), ("a",)],  # empty text is quoted, other text is not
        [(None, math.inf), (0, math.nan)],  # NULL and non-finite reals
        [(7**6000,), (1,)],  # too long for `%s`: row by row
        [(True, b"\x00"), (False, b"")],  # booleans (as 1 and 0) and BLOBs
        [("it's",), ("a\x00b",), ("\udcff",)],  # SQL quotes, a NUL, bytes that were not UTF-8
    ]
    for rows in shapes:
        assert batched(rows) == reference(rows), rows


def test_columns_of_reals_are_written_as_sql_real_writes_each() -> None:
    columns: list[list[Value]] = [
        [i * 0.5 for i in range(-9, 10)] + [0.1, 1 / 3, 2.0**-62, 3 * 2.0**-62],  # one pass
        [1.5, 2.0**-63, 1e-300, 5e-324],  # denominators past 2**62: value by value
        [2.0**53, -(2.0**53), 1.0, 2.0**53 + 2, 1e300],  # integers past 2**53
        [0.5, 0.0, -0.0, 1.0],  # zero's sign
        [0.5, math.inf, -math.inf, math.nan],  # no finite form
    ]
    for column in columns:
        rows = [(value,) for value in column]
        assert batched(rows) == reference(rows), column
    assert sql_real(0.1) == "(3602879701896397.0/36028797018963968)"
    assert sql_real(2.0**53 + 2) == "(4503599627370497.0*2)"
    steps = [str(1 << 62)] * 17 + [str(1 << 20)]  # 2**-1074, the smallest real
    assert sql_real(-(2.0**-1074)) == "(-1.0/" + "/".join(steps) + ")"


def _frexp_real(value: float) -> str:
    """`sql_real`'s definition, step by step: the odd mantissa of `frexp` and powers of 2."""
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    fraction, exponent = math.frexp(value)
    mantissa, exponent = int(fraction * (1 << 53)), exponent - 53
    zeros = (mantissa & -mantissa).bit_length() - 1
    mantissa, exponent = mantissa >> zeros, exponent + zeros
    if exponent >= 0 and abs(mantissa) << exponent <= 1 << 53:
        return f"{mantissa << exponent}.0"
    parts = [f"{mantissa}.0"]
    operator, steps = ("*", exponent) if exponent > 0 else ("/", -exponent)
    while steps:
        step = min(steps, 62)
        parts.append(str(1 << step))
        steps -= step
    return "(" + operator.join(parts) + ")"


@SETTINGS
@given(finite_reals)
def test_sql_real_is_the_odd_mantissa_over_powers_of_two(value: float) -> None:
    assert sql_real(value) == _frexp_real(value)


def test_rows_as_lists_and_of_unequal_length_are_still_written_row_by_row() -> None:
    lists: list[list[Value]] = [[1, "a"], [2, "b"]]
    assert batched(lists) == reference(lists)
    assert csv_records([(1,), (2, 3)]) == "1\r\n2,3\r\n"
    assert csv_records([]) == json_lines([], []) == sql_inserts("", []) == ""
