"""What the Data pane's filter box means, and how an active filter reads as a chip."""

from __future__ import annotations

import re

from rich.text import Text

from dbinspect.models import Filter, FilterOperator
from dbinspect.tui.sanitize import safe_text

FILTER_SYNTAX = "usa (any case) · == USA · != usa · < <= > >= 10 · like %a% · is null · is not null"
"""The filter box's rules, as its placeholder shows them."""

_PREFIX = re.compile(
    r"(?P<op>==|!=|<>|<=|>=|=|<|>|like\s)\s*(?P<value>.*)", re.IGNORECASE | re.DOTALL
)
_OPERATORS: dict[str, tuple[FilterOperator, bool]] = {
    # operator typed: (the filter's operator, whether letter case must match)
    "==": ("equals", True),
    "=": ("equals", False),
    "!=": ("not equals", False),
    "<>": ("not equals", False),
    "<": ("<", True),
    "<=": ("<=", True),
    ">": (">", True),
    ">=": (">=", True),
    "like": ("like", False),
}
_SYMBOLS: dict[FilterOperator, str] = {
    "equals": "=",
    "not equals": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "like": "LIKE",
    "is null": "IS NULL",
    "is not null": "IS NOT NULL",
}


def filter_from_text(column: str, text: str) -> Filter:
    """The filter the box's `text` asks for on `column`.

    A plain value equals the cell ignoring letter case (`usa` finds `USA`), and with a
    `%` in it is a LIKE; `NULL`, `is null` and `is not null` test for NULL. An operator
    in front compares instead: `==` equals exactly, `=` and `!=` ignore case as a plain
    value does, `<` `<=` `>` `>=` order as SQLite does, `like` takes a pattern.
    """
    stripped = text.strip()
    lowered = " ".join(stripped.lower().split())
    if lowered in ("null", "is null"):
        return Filter(column, "is null")
    if lowered == "is not null":
        return Filter(column, "is not null")
    match = _PREFIX.fullmatch(stripped)
    if match is not None:
        operator, case_sensitive = _OPERATORS[match["op"].strip().lower()]
        return Filter(column, operator, match["value"], case_sensitive)
    if "%" in text:
        return Filter(column, "like", text, case_sensitive=False)
    return Filter(column, "equals", text, case_sensitive=False)


def filter_label(found: Filter) -> Text:
    """A filter as the header and its chip show it, the column and value escaped."""
    text = safe_text(found.column)
    text.append(f" {_SYMBOLS[found.operator]}")
    if found.operator in ("is null", "is not null"):
        return text
    if found.operator == "equals" and found.case_sensitive:
        text.append("=")  # `==`: as the box takes an exact match
    text.append(" ")
    text.append_text(safe_text(str(found.value)))
    return text
