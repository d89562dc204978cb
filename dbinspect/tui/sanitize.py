"""Turns untrusted database text into Rich Text that the terminal shows literally."""

from __future__ import annotations

from rich.text import Text

from dbinspect.textsafe import UNSAFE, escape_controls

__all__ = ["NULL_STYLE", "escape_controls", "escape_text", "safe_text"]

NULL_STYLE = "dim italic"


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


def escape_text(text: Text) -> Text:
    """Escape the control and bidi characters of an already styled Text, keeping its styles.

    For lines built from fixed words and untrusted parts, such as a banner or a message
    that quotes an error: whatever a caller forgot to escape is escaped here.
    """
    plain = text.plain
    if not UNSAFE.search(plain):
        return text
    cuts = sorted({cut for match in UNSAFE.finditer(plain) for cut in match.span()})
    result = Text(style=text.style, justify=text.justify, no_wrap=text.no_wrap, end=text.end)
    for piece in text.divide(cuts):
        if UNSAFE.fullmatch(piece.plain):
            escaped = Text(escape_controls(piece.plain), style=piece.style)
            for span in piece.spans:
                escaped.stylize(span.style, 0, len(escaped))
            piece = escaped
        result.append_text(piece)
    return result
