"""Makes untrusted text safe for a terminal: control and bidi characters become escapes.

File names, paths, tracking-table rows, SQL and cell values are all untrusted: every
human-facing line and every widget label goes through `escape_controls`. Rich and Textual
strip only BEL, BS, VT, FF and CR, so ESC and C1 controls would otherwise reach the terminal
(OSC 52 writes the clipboard, CSI redraws the screen). Machine outputs keep their exact
bytes, except that a JSON document uses JSON's own escapes for the same characters
(`escape_json`), which keeps its value.
"""

from __future__ import annotations

import re

__all__ = ["UNSAFE", "escape_controls", "escape_json", "file_stem"]

UNSAFE = re.compile(
    "["
    "\x00-\x1f\x7f"  # C0 controls (ESC, and tab and newline: a name must stay on one line), DEL
    "\x80-\x9f"  # C1 controls: U+009B is CSI and U+009D is OSC on terminals that honour them
    "\u061c\u200e\u200f"  # the Arabic letter mark and the left-to-right and right-to-left marks
    "\u202a-\u202e\u2066-\u2069"  # bidi embeddings, overrides and isolates (and their pop)
    "\ud800-\udfff"  # lone surrogates: a name that was not UTF-8, decoded with surrogateescape
    "]"
)
"""Every character that may never reach a terminal as itself."""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # the byte that surrogateescape stood in for
    return f"\\u{code:04x}"


def escape_controls(value: str, *, keep: str = "") -> str:
    """Replace every control and bidi character in `value` with a visible escape.

    Args:
        value: Any string, typically read from a database, a file name or a path.
        keep: Control characters to leave alone (e.g. `"\\n"` for multi-line SQL).

    Returns:
        The string with `\\x1b`-style escapes for C0, DEL and C1 (and for the bytes of a
        name that was not UTF-8) and `\\u202e`-style escapes for bidi controls; other
        characters unchanged.
    """
    if keep:
        return UNSAFE.sub(lambda m: m.group() if m.group() in keep else _escape(m), value)
    return UNSAFE.sub(_escape, value)


def file_stem(name: str) -> str:
    """`name` fit to start a file name that dbinspect proposes (in a dialog or by default).

    A `/`, a `\\` or a NUL would put the file elsewhere, and a control or bidi character
    would act on the terminal that shows the proposal: each becomes `_`. Leading dots,
    which would hide the file, are dropped.
    """
    return UNSAFE.sub("_", name.replace("/", "_").replace("\\", "_")).lstrip(".")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


# UNSAFE without the newline: a JSON document's indentation newlines are its only raw
# controls, and matching each of them would cost a call apiece (seconds on 13 MB).
_JSON_UNSAFE = re.compile(UNSAFE.pattern.replace("\x00-\x1f", "\x00-\x09\x0b-\x1f"))
_PLAIN_ASCII = bytes(range(0x20, 0x7F)) + b"\n"
"""What an ASCII document may hold and need no escape: printable characters and newlines."""


def escape_json(document: str) -> str:
    """Write the unsafe characters left in a JSON document as JSON `\\u` escapes.

    `json.dumps` escapes C0 controls itself, but leaves DEL, C1, bidi controls and (with
    `ensure_ascii=False`) lone surrogates raw. Outside strings JSON is plain ASCII, so
    every such character sits inside a string, where `\\uXXXX` means the same character:
    the parsed value is unchanged and the bytes are the same in a pipe, a file or a terminal.
    Indentation newlines are kept.
    """
    if document.isascii() and not document.encode("ascii").translate(None, _PLAIN_ASCII):
        # No control but the newlines: C sweeps, five times as fast as the pattern.
        return document
    return _JSON_UNSAFE.sub(_json_escape, document)
