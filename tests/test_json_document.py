"""The large JSON documents: json.dumps's own text, written in C."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dbinspect.json_document import indented
from dbinspect.textsafe import escape_json


def documents(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
        ),
        max_leaves=30,
    )


# Every kind of value the schema and check documents hold, integers of any size included
# (orjson takes 64 bits; the standard library writes the rest).
PLAIN = st.one_of(st.none(), st.booleans(), st.integers(), st.text())


@settings(max_examples=300)
@given(documents(PLAIN))
def test_the_text_is_json_dumps_indented(document: Any) -> None:
    assert indented(document) == json.dumps(document, indent=2, ensure_ascii=False)


@given(documents(st.floats(allow_nan=False, allow_infinity=False)))
def test_floats_read_back_the_same(document: Any) -> None:
    assert json.loads(indented(document)) == document


def test_what_orjson_refuses_is_written_by_the_standard_library() -> None:
    name_not_utf8 = "bad\udcff"  # a lone surrogate, as os.listdir decodes a bad name
    document = {"sizes": {1: 2**70}, "name": name_not_utf8}
    text = indented(document)
    assert text == json.dumps(document, indent=2, ensure_ascii=False)
    assert json.loads(escape_json(text)) == {"sizes": {"1": 2**70}, "name": name_not_utf8}


def test_a_float_keeps_its_value_in_another_form() -> None:
    assert json.loads(indented([1e16, 0.1, -2.5e-7])) == [1e16, 0.1, -2.5e-7]
