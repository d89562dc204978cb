"""SQLite's statement rules: where statements end and what cannot run in a transaction.

`Statement` is shared by every dialect; `SQLITE` (in `sqlite_dialect`) bundles these rules.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import NamedTuple

_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]+")
_FOREIGN_KEYS_PRAGMA = re.compile(
    r"^PRAGMA\s+(?:[\"`\[]?\w+[\"`\]]?\s*\.\s*)?[\"`\[]?foreign_keys\b[\"`\]]?\s*[=(]",
    re.IGNORECASE,
)
TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "END", "ROLLBACK"})


class Statement(NamedTuple):
    """One complete SQL statement of a migration file."""

    number: int
    """Position in the file, from 1, counting only statements that do something."""
    sql: str
    """The statement's text, leading comments included, up to its `;`."""
    body: str
    """The text without leading comments and whitespace (found once, checked often)."""

    @property
    def keyword(self) -> str:
        """The first keyword, upper-cased (`CREATE`, `BEGIN`...)."""
        match = _WORD.match(self.body)
        return match.group(0).upper() if match else ""

    @property
    def first_line(self) -> str:
        """The first line of the body, for error messages."""
        return self.body.split("\n", 1)[0].strip()

    def label(self) -> str:
        """`statement N: <first line>`, as error messages show it.

        Without its closing `;`, which would run into the `: <error>` that follows.
        """
        return f"statement {self.number}: {self.first_line.removesuffix(';').rstrip()}"


def strip_leading_comments(sql: str) -> str:
    """Remove whitespace and `--`/`/* */` comments from the start of `sql`."""
    return sql[_LEADING_NOISE.match(sql).end() :]  # type: ignore[union-attr]


# sqlite3_complete's tokens and state machine (SQLite's complete.c), which decide where a
# `;` ends a statement: only CREATE [TEMP] TRIGGER bodies hold a `;` that does not.
_SEMI, _WS, _OTHER, _EXPLAIN, _CREATE, _TEMP, _TRIGGER, _END = range(8)
_TRANSITIONS = (
    # SEMI WS OTHER EXPLAIN CREATE TEMP TRIGGER END
    (1, 0, 2, 3, 4, 2, 2, 2),  # 0: nothing but whitespace and comments yet
    (1, 1, 2, 3, 4, 2, 2, 2),  # 1: a statement just ended
    (1, 2, 2, 2, 2, 2, 2, 2),  # 2: in an ordinary statement
    (1, 3, 3, 2, 4, 2, 2, 2),  # 3: after EXPLAIN
    (1, 4, 2, 2, 2, 4, 5, 2),  # 4: after CREATE [TEMP]
    (6, 5, 5, 5, 5, 5, 5, 5),  # 5: in a trigger
    (6, 6, 5, 5, 5, 5, 5, 7),  # 6: in a trigger, after a `;`
    (1, 7, 5, 5, 5, 5, 5, 5),  # 7: in a trigger, after `;` END
)
_KEYWORDS = {
    "explain": _EXPLAIN,
    "create": _CREATE,
    "temp": _TEMP,
    "temporary": _TEMP,
    "trigger": _TRIGGER,
    "end": _END,
}
# One token of complete.c. Its whitespace is these five characters only; an identifier is
# a run of ASCII letters, digits, `_`, `$` and any non-ASCII character. No match means an
# unterminated quote or `/*`: SQLite then finds no end of statement anywhere after it.
_TOKEN = re.compile(
    r"""(?P<ws>[ \t\n\f\r]+|--[^\n]*|/\*.*?\*/)
    |(?P<semi>;)
    |(?P<word>[A-Za-z0-9_$\x80-\U0010ffff]+)
    |(?P<other>'[^']*'|"[^"]*"|`[^`]*`|\[[^\]]*\]|/(?!\*)|[^'"`\[/])""",
    re.DOTALL | re.VERBOSE,
)
_TOKEN_KINDS = {"ws": _WS, "semi": _SEMI, "other": _OTHER}
# In states 2 and 5 only a `;` changes the state, so everything up to the next `;` outside
# quotes and comments is skipped in one match. It stops early at an unterminated quote.
# Possessive (`*+`): a plain `*` keeps a backtracking record per quote, which makes
# scripts of megabytes several times slower per byte.
_UP_TO_SEMICOLON = re.compile(
    r"""(?:[^;'"`\[/-]+|'[^']*'|"[^"]*"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/|-|/(?!\*))*+""",
    re.DOTALL,
)


def _statement_ends(sql: str) -> Iterator[int]:
    """The offsets just past each `;` that SQLite's `sqlite3_complete` says ends a statement.

    One pass over the text: the same answers as asking `complete_statement` about the
    text since the last end at each `;`, which took time quadratic in the number of `;`
    inside strings.
    """
    state, pos, size = 0, 0, len(sql)
    while pos < size:
        if state in (2, 5):
            pos = _UP_TO_SEMICOLON.match(sql, pos).end()  # type: ignore[union-attr]
            if pos == size or sql[pos] != ";":
                return  # an unterminated quote or comment runs to the end
            token, pos = _SEMI, pos + 1
        else:
            match = _TOKEN.match(sql, pos)
            if match is None:
                return
            pos = match.end()
            if match.lastgroup == "word":
                word = match.group()
                token = _KEYWORDS.get(word.lower(), _OTHER) if word.isascii() else _OTHER
            else:
                token = _TOKEN_KINDS[match.lastgroup or "other"]
        state = _TRANSITIONS[state][token]
        if state == 1:
            yield pos
            state = 0


def split_statements(sql: str) -> list[Statement]:
    """Split a script into statements exactly where SQLite would end each one.

    A `;` ends a statement where SQLite's `sqlite3_complete` says the text since the last
    end is complete: outside quotes (`'`, `"`, `` ` ``, `[...]`) and comments, and outside
    the `BEGIN ... END` of a trigger body. Text after the last end that is more than
    comments is a final statement without a semicolon, which SQLite also runs.
    """
    statements: list[Statement] = []
    start = 0
    for end in _statement_ends(sql):
        _append(statements, sql[start:end])
        start = end
    _append(statements, sql[start:])
    return statements


def _append(statements: list[Statement], text: str) -> None:
    body = strip_leading_comments(text)
    if body.strip().rstrip(";").strip():
        statements.append(Statement(len(statements) + 1, text, body))


def transaction_refusal(statements: list[Statement]) -> Statement | None:
    """The first statement that cannot run inside the migration's transaction, if any.

    `BEGIN`/`COMMIT`/`END`/`ROLLBACK` would end or nest the transaction (sqlx would fail or
    commit half a migration) and `VACUUM` cannot run in a transaction at all. `ROLLBACK
    TO` a savepoint stays inside the transaction, so it is allowed.
    """
    for statement in statements:
        keyword = statement.keyword
        if keyword == "VACUUM":
            return statement
        if keyword in TRANSACTION_CONTROL:
            rest = statement.body[len(keyword) :].lstrip()
            if keyword == "ROLLBACK" and re.match(r"(?i)(TRANSACTION\s+)?TO\b", rest):
                continue
            return statement
    return None


def foreign_keys_pragmas(statements: list[Statement]) -> list[Statement]:
    """Statements setting `PRAGMA foreign_keys`, a no-op inside a transaction."""
    return [s for s in statements if _FOREIGN_KEYS_PRAGMA.match(s.body)]


def explain_checksum_difference(data: bytes, applied: bytes) -> str | None:
    """Say whether `data` differs from what was applied only by line endings or a BOM.

    The old bytes are gone, so this tries the variants an editor produces (BOM added
    or removed, CRLF turned into LF or back) and checks which one hashes to `applied`.
    """
    bom = b"\xef\xbb\xbf"
    without_bom = data.removeprefix(bom)
    lf = without_bom.replace(b"\r\n", b"\n")
    crlf = lf.replace(b"\n", b"\r\n")
    variants = {
        "a byte-order mark (BOM)": [without_bom, bom + data],
        "line endings (CRLF/LF)": [lf, crlf, bom + lf, bom + crlf],
    }
    for what, candidates in variants.items():
        for candidate in candidates:
            if candidate != data and hashlib.sha384(candidate).digest() == applied:
                if what.startswith("line") and candidate.startswith(bom) != data.startswith(bom):
                    return "line endings (CRLF/LF) and a byte-order mark (BOM)"
                return what
    return None
