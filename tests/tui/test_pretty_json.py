"""The detail view's JSON: pretty-printed, and exactly what the text says."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dbinspect.tui.data.format import pretty_json

DOCUMENTS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=20,
).filter(lambda document: isinstance(document, list | dict))


@given(DOCUMENTS)
def test_a_plain_document_is_laid_out_as_json_dumps_lays_it_out(document: Any) -> None:
    assert pretty_json(json.dumps(document)) == json.dumps(document, indent=2, ensure_ascii=False)


def test_numbers_and_repeated_keys_are_shown_as_written() -> None:
    # PostgreSQL's json keeps its text: psql shows all of this; a float would not.
    text = '{"a": 1, "a": 2, "f": 1.00000000000000000001, "big": 1e400, "n": -0}'
    assert pretty_json(text) == (
        '{\n  "a": 1,\n  "a": 2,\n  "f": 1.00000000000000000001,\n  "big": 1e400,\n  "n": -0\n}'
    )


def test_what_is_not_json_is_not_pretty_printed() -> None:
    assert pretty_json("[NaN]") is None
    assert pretty_json('{"a": Infinity}') is None
    assert pretty_json("plain text") is None
