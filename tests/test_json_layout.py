"""The JSON layout of large documents: the same values as json.dumps, laid out by level."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dbinspect.ops import json_layout

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner)),
    max_leaves=30,
)


@given(DOCUMENTS, st.integers(min_value=0, max_value=6))
def test_any_document_reads_back_the_same(document: Any, depth: int) -> None:
    assert json.loads(json_layout.dumps(document, depth=depth)) == document


FLAT_OBJECTS = st.lists(st.dictionaries(st.text(), SCALARS, min_size=1), max_size=3)


@given(st.dictionaries(st.text(), FLAT_OBJECTS))
def test_objects_of_plain_values_take_one_line_each(document: dict[str, Any]) -> None:
    text = json_layout.dumps(document)
    for entries in document.values():
        for entry in entries:
            line = json.dumps(entry, ensure_ascii=False)
            assert "\n    " + line + ("," if entry is not entries[-1] else "\n") in text


def test_the_layout_of_a_schema_document() -> None:
    document = {
        "tables": [
            {
                "name": "t",
                "columns": [{"name": "id", "type": "integer"}, {"name": "é", "type": "text"}],
                "triggers": ["a", "b"],
            }
        ],
        "types": [],
    }
    assert json_layout.dumps(document) == (
        "{\n"
        '  "tables": [\n'
        "    {\n"
        '      "name": "t",\n'
        '      "columns": [\n'
        '        {"name": "id", "type": "integer"},\n'
        '        {"name": "é", "type": "text"}\n'
        "      ],\n"
        '      "triggers": ["a", "b"]\n'
        "    }\n"
        "  ],\n"
        '  "types": []\n'
        "}"
    )
