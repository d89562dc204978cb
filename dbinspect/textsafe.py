"""Makes untrusted text safe for a terminal: control and bidi characters become escapes."""

from __future__ import annotations

import re

__all__ = ["escape_controls"]

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
