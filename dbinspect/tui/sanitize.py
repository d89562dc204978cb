"""Turns untrusted database text into Rich Text that the terminal shows literally."""

from __future__ import annotations

import re

from rich.text import Text

__all__ = ["NULL_STYLE", "escape_controls", "safe_text"]

NULL_STYLE = "dim italic"

# C0 controls (tab and newline included: a cell or a name must stay on one line and must
# not move the cursor), DEL, C1 controls, and the bidi embedding/override/isolate marks that
# can make a name read differently from what it is (SECURITY.md facts 8 and 9).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape_controls(value: str, *, keep: str = "") -> str:
    """Replace every control and bidi character in `value` with a visible escape.

    Args:
        value: Any string, typically read from a database.
        keep: Control characters to leave alone (e.g. `"\\n"` for multi-line SQL).

    Returns:
        The string with `\\x1b`-style escapes for C0, DEL and C1 and `\\u202e`-style escapes
        for bidi controls; other characters unchanged.
    """
    if keep:
        return _CONTROL.sub(lambda m: m.group() if m.group() in keep else _escape(m), value)
    return _CONTROL.sub(_escape, value)


def _to_str(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        preview = data[:16].hex(" ")
        more = "…" if len(data) > 16 else ""
        return f"<{len(data)} bytes> {preview}{more}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def safe_text(value: object, *, max_chars: int | None = None, style: str = "") -> Text:
    """Render a value from the database as Text that is never parsed as markup.

    Args:
        value: A str, number, bytes or None. None becomes a dim `NULL`.
        max_chars: Cut the (escaped) text to this many characters, ending with `…`.
        style: Rich style for the whole text.

    Returns:
        A `rich.text.Text` with every control character shown as an escape.
    """
    if value is None:
        return Text("NULL", style=NULL_STYLE, no_wrap=True)
    text = escape_controls(_to_str(value))
    if max_chars is not None and len(text) > max_chars:
        text = text[: max(max_chars - 1, 0)] + "…"
    return Text(text, style=style)
