"""Provides completion candidates for the query editor: relations, columns and keywords.

`complete(text_before_cursor, names, dialect)` looks at the statement around the cursor:

- after `alias.` or `table.` (or `schema.table.`) it offers that relation's columns, the
  alias resolved from `FROM t a` / `JOIN t AS a`; after `schema.` (PostgreSQL) the
  relations of that schema;
- after FROM, JOIN, INTO, UPDATE or TABLE (or a comma in a FROM list) it offers
  relations, then keywords;
- elsewhere it offers the columns of the relations the statement names, then keywords,
  then relations.

Matching is by prefix, ignoring case; candidates keep the database's spelling and are
quoted where the name needs it. Inside a string or a comment nothing is offered.
The names come from the schema the app has loaded (`SchemaNames.from_schema`); their
sorted indexes are built once per dialect, so a keystroke costs a lexing of the buffer
and a few binary searches.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, cast

from pglast import keywords as pg_keywords

from dbinspect.backends.sqlite_names import quote_identifier
from dbinspect.models import DEFAULT_SCHEMA, RELATION_KINDS, Schema

CandidateKind = Literal["table", "view", "column", "keyword"]
Dialect = Literal["sqlite", "postgres"]
MAX_CANDIDATES = 50
_SPACES_TRIED = 64
_MAX_TEXT_AFTER = 100_000
"""How much text after the cursor is read to find the end of the statement."""

SQLITE_KEYWORDS: frozenset[str] = frozenset(
    """
    ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT
    BEFORE BEGIN BETWEEN BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT
    CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE
    DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE
    EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM
    FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED INITIALLY
    INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH
    MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS
    OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE
    REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW
    ROWS SAVEPOINT SELECT SET TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER
    UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN WHERE WINDOW WITH
    WITHOUT
    """.split()
)
"""SQLite's keywords, all 147 of https://sqlite.org/lang_keywords.html (SQLite 3.35 on).

Written out: Python's sqlite3 module does not expose `sqlite3_keyword_name`."""

POSTGRES_KEYWORDS: frozenset[str] = frozenset(
    word.upper()
    for group in (
        pg_keywords.RESERVED_KEYWORDS,
        pg_keywords.UNRESERVED_KEYWORDS,
        pg_keywords.COL_NAME_KEYWORDS,
        pg_keywords.TYPE_FUNC_NAME_KEYWORDS,
    )
    for word in group
)
"""PostgreSQL's keywords, from the parser pglast is built on (its `kwlist.h`)."""

_POSTGRES_QUOTED_KEYWORDS: frozenset[str] = frozenset(
    pg_keywords.RESERVED_KEYWORDS
    | pg_keywords.COL_NAME_KEYWORDS
    | pg_keywords.TYPE_FUNC_NAME_KEYWORDS
)
"""The keywords PostgreSQL's `quote_ident` quotes: every kind but the unreserved."""

_POSTGRES_NOT_ALIAS: frozenset[str] = frozenset(
    word.upper() for word in pg_keywords.RESERVED_KEYWORDS | pg_keywords.TYPE_FUNC_NAME_KEYWORDS
) | frozenset(
    """SET ADD ALTER DROP RENAME OWNER VALUES OVERRIDING DEFAULT TABLESAMPLE ATTACH
    DETACH ENABLE DISABLE VALIDATE CLUSTER INHERIT NO REPLICA RESET OF""".split()
)
"""Words after a relation that are no alias (a keyword an alias would have to quote)."""
_RELATION_KEYWORDS = frozenset({"FROM", "JOIN", "INTO", "UPDATE", "TABLE"})
_LIST_KEYWORDS = frozenset({"FROM"})
"""After one of these, a comma starts another relation."""
_SIMPLE_SQLITE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SIMPLE_POSTGRES = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One completion: the text to insert in place of the word being typed."""

    text: str
    kind: CandidateKind
    replace_length: int
    """How many characters before the cursor the text replaces (the typed word)."""


@dataclass(frozen=True, slots=True)
class RelationNames:
    """A table or view as completion needs it: its names, unquoted."""

    name: str
    kind: Literal["table", "view"]
    schema: str | None = None
    """PostgreSQL's schema; None on SQLite."""
    columns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, repr=False)
class SchemaNames:
    """The relation and column names completion offers, taken from a loaded schema."""

    relations: tuple[RelationNames, ...]
    _indexes: dict[str, _Index] = field(default_factory=dict, compare=False)

    @classmethod
    def from_schema(cls, schema: Schema) -> SchemaNames:
        """The tables and views of `schema` (SQLite's internal ones left out)."""
        return cls(
            tuple(
                RelationNames(
                    obj.name,
                    "view" if obj.kind in ("view", "materialized view") else "table",
                    obj.schema,
                    tuple(column.name for column in obj.columns),
                )
                for obj in schema.objects
                if obj.kind in RELATION_KINDS and not obj.internal
            )
        )

    def __repr__(self) -> str:
        return f"SchemaNames(<{len(self.relations)} relations>)"

    def index(self, dialect: Dialect) -> _Index:
        """The lookup tables for `dialect`, built on first use."""
        built = self._indexes.get(dialect)
        if built is None:
            built = self._indexes[dialect] = _Index(self.relations, dialect)
        return built


def quote_name(name: str, dialect: Dialect) -> str:
    """`name` as it must be written in SQL: bare where that reads the same, else quoted.

    PostgreSQL: as its `quote_ident` does (lower-case letters, digits and `_`, and no
    keyword but the unreserved ones). SQLite: ASCII letters, digits and `_`, and no
    keyword at all (SQLite's list changes between versions; quoting is always safe).
    """
    if dialect == "postgres":
        if _SIMPLE_POSTGRES.fullmatch(name) and name not in _POSTGRES_QUOTED_KEYWORDS:
            return name
        return '"' + name.replace('"', '""') + '"'
    if _SIMPLE_SQLITE.fullmatch(name) and name.upper() not in SQLITE_KEYWORDS:
        return name
    return quote_identifier(name)


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    """What the typed prefix is matched against, case-folded."""
    text: str
    kind: CandidateKind


class _Index:
    """Sorted candidates and name lookups for one dialect."""

    def __init__(self, relations: Iterable[RelationNames], dialect: Dialect) -> None:
        self.dialect = dialect
        entries: list[_Entry] = []
        self.by_name: dict[str, list[RelationNames]] = {}
        self.by_qualified: dict[tuple[str, str], RelationNames] = {}
        self.by_schema: dict[str, list[RelationNames]] = {}
        self._columns: dict[int, list[_Entry]] = {}
        for relation in relations:
            bare = quote_name(relation.name, dialect)
            folded = relation.name.casefold()
            self.by_name.setdefault(folded, []).append(relation)
            if relation.schema is None or relation.schema == DEFAULT_SCHEMA:
                entries.append(_Entry(folded, bare, relation.kind))
            if relation.schema is not None:
                schema_folded = relation.schema.casefold()
                self.by_qualified.setdefault((schema_folded, folded), relation)
                self.by_schema.setdefault(schema_folded, []).append(relation)
                qualified = f"{quote_name(relation.schema, dialect)}.{bare}"
                entries.append(_Entry(f"{schema_folded}.{folded}", qualified, relation.kind))
                if relation.schema != DEFAULT_SCHEMA:  # `ord` finds `sales.orders` too
                    entries.append(_Entry(folded, qualified, relation.kind))
        entries.sort(key=_order)
        self.relations = entries
        self.relation_keys = [entry.key for entry in entries]
        words = SQLITE_KEYWORDS if dialect == "sqlite" else POSTGRES_KEYWORDS
        self.keywords = sorted(words)
        self.not_alias = SQLITE_KEYWORDS if dialect == "sqlite" else _POSTGRES_NOT_ALIAS
        self._lexed: tuple[str, list[_Token], list[int]] = ("", [], [])

    def tokens(self, text: str) -> tuple[list[_Token], list[int]]:
        """The tokens of `text` and where each ends, lexing only what changed since last time.

        Each keystroke would otherwise lex the whole buffer (0.1 s for 100 kB). The tokens
        before a whitespace token both texts share, its first character included, are
        kept: no rule's match depends on text past the whitespace that ends it (a string,
        comment or dollar quote still open would have taken the whitespace in). Only the
        last `_SPACES_TRIED` whitespace tokens are tried: an edit further up lexes it all.
        """
        old_text, old_tokens, old_ends = self._lexed
        keep = 0
        tried = 0
        for position in range(len(old_tokens) - 1, -1, -1):
            token = old_tokens[position]
            if token.kind != "space":
                continue
            shared = token.start + 1
            if shared <= len(text) and text[:shared] == old_text[:shared]:
                keep = position
                break
            tried += 1
            if tried == _SPACES_TRIED:
                break
        fresh = _tokens(text, self.dialect, old_tokens[keep].start if keep else 0)
        tokens = old_tokens[:keep] + fresh
        ends = old_ends[:keep] + [token.end for token in fresh]
        self._lexed = (text, tokens, ends)
        return tokens, ends

    def columns(self, relation: RelationNames) -> list[_Entry]:
        """The relation's columns, sorted, quoted as needed (cached)."""
        found = self._columns.get(id(relation))
        if found is None:
            found = [
                _Entry(name.casefold(), quote_name(name, self.dialect), "column")
                for name in dict.fromkeys(relation.columns)
            ]
            found.sort(key=_order)
            self._columns[id(relation)] = found
        return found

    def matching_relations(self, prefix: str) -> Iterator[_Entry]:
        """Relations whose name (or `schema.name`) starts with `prefix`, in order."""
        start = bisect_left(self.relation_keys, prefix)
        for position in range(start, len(self.relations)):
            if not self.relation_keys[position].startswith(prefix):
                return
            yield self.relations[position]

    def find(self, parts: list[_Name]) -> RelationNames | None:
        """The relation a (possibly schema-qualified) name in the statement refers to."""
        if not parts:
            return None
        name = parts[-1]
        if len(parts) >= 2 and self.dialect == "postgres":
            schema = parts[-2]
            return self.by_qualified.get((schema.text.casefold(), name.text.casefold()))
        found = self.by_name.get(name.text.casefold(), [])
        if self.dialect == "postgres" and len(found) > 1:
            # Exact spelling first (a quoted name, or an unquoted one as folded), then public.
            spelled = name.text if name.quoted else name.text.lower()
            exact = [r for r in found if r.name == spelled] or found
            public = [r for r in exact if r.schema == DEFAULT_SCHEMA]
            return (public or exact)[0]
        return found[0] if found else None


TokenKind = Literal["word", "quoted", "string", "comment", "number", "punct", "space", "other"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    start: int
    end: int
    closed: bool = True
    """False for a string, quoted name or block comment the text ends inside."""

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


@dataclass(frozen=True, slots=True)
class _Name:
    text: str
    """The name as the database spells it (quotes removed, doubled quotes undone)."""
    quoted: bool


# Hand-written rather than a parser's scanner: completion lexes text that is being typed,
# unfinished strings and comments included, in both dialects; sqlglot or pglast's
# scanner stop at the first unterminated token.
_COMMON_TOKENS = [
    ("space", r"\s+"),
    ("comment", r"--[^\n]*"),
    ("comment", r"/\*[\s\S]*?(?:\*/|\Z)"),
    ("string", r"'(?:[^']|'')*'?"),
    ("quoted", r'"(?:[^"]|"")*"?'),
    ("number", r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?"),
    ("word", r"[^\W\d]\w*"),
]
_SQLITE_TOKENS = [
    *_COMMON_TOKENS[:5],
    ("quoted", r"`(?:[^`]|``)*`?"),
    ("quoted", r"\[[^\]]*\]?"),
    *_COMMON_TOKENS[5:],
    ("punct", r"[.,;()]"),
    ("other", r"."),
]
_POSTGRES_TOKENS = [
    *_COMMON_TOKENS[:3],
    ("string", r"[Ee]'(?:[^'\\]|\\[\s\S]|'')*'?"),
    ("string", r"\$(?P<tag>[^\W\d]\w*)?\$[\s\S]*?(?:\$(?P=tag)\$|\Z)"),
    *_COMMON_TOKENS[3:6],
    ("word", r"[^\W\d][\w$]*"),
    ("punct", r"[.,;()]"),
    ("other", r"\$\d+|."),
]


def _lexer(rules: list[tuple[str, str]]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<t{i}_{kind}>{rule})" for i, (kind, rule) in enumerate(rules)))


_LEXERS = {"sqlite": _lexer(_SQLITE_TOKENS), "postgres": _lexer(_POSTGRES_TOKENS)}
_CLOSERS = {'"': '"', "`": "`", "[": "]"}


def _tokens(text: str, dialect: Dialect, start: int = 0) -> list[_Token]:
    found = []
    for match in _LEXERS[dialect].finditer(text, start):
        kind = cast(TokenKind, (match.lastgroup or "t_other").split("_", 1)[1])
        value = match.group()
        closed = True
        if kind in ("string", "quoted"):
            closed = _closed(value)
        elif kind == "comment" and value.startswith("/*"):
            closed = len(value) >= 4 and value.endswith("*/")
        found.append(_Token(kind, value, match.start(), match.end(), closed))
    return found


_CLOSED = {
    "'": re.compile(r"'(?:[^']|'')*'"),
    "E": re.compile(r"[Ee]'(?:[^'\\]|\\(?:.|\n)|'')*'", re.DOTALL),
    '"': re.compile(r'"(?:[^"]|"")*"'),
    "`": re.compile(r"`(?:[^`]|``)*`"),
    "[": re.compile(r"\[[^\]]*\]"),
}


def _closed(value: str) -> bool:
    """Whether a string or quoted name the lexer found has its closing quote."""
    if value.startswith("$"):
        tag = value[: value.index("$", 1) + 1]
        return len(value) >= 2 * len(tag) and value.endswith(tag)
    rule = _CLOSED["E" if value[0] in "Ee" else value[0]]
    return rule.fullmatch(value) is not None


def _name(token: _Token) -> _Name | None:
    if token.kind == "word":
        return _Name(token.text, False)
    if token.kind == "quoted":
        opening = token.text[0]
        closer = _CLOSERS[opening]
        body = token.text[1:-1] if token.closed else token.text[1:]
        return _Name(body if opening == "[" else body.replace(closer * 2, closer), True)
    return None


def complete(
    text_before_cursor: str,
    schema_names: SchemaNames,
    dialect: str,
    *,
    text_after_cursor: str = "",
    limit: int = MAX_CANDIDATES,
) -> list[Candidate]:
    """The candidates for the word the cursor is at the end of, best first.

    Args:
        text_before_cursor: The buffer up to the cursor.
        schema_names: The names of the database (`SchemaNames.from_schema`).
        dialect: `sqlite` or `postgres` (`postgresql` is taken too).
        text_after_cursor: The rest of the buffer, where aliases defined later in the
            statement (`select a.| from t a`) are found.
        limit: At most this many candidates.

    Raises:
        ValueError: An unknown dialect.
    """
    known: Dialect
    if dialect == "sqlite":
        known = "sqlite"
    elif dialect in ("postgres", "postgresql"):
        known = "postgres"
    else:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    index = schema_names.index(known)
    cursor = len(text_before_cursor)
    tokens, ends = index.tokens(text_before_cursor + text_after_cursor[:_MAX_TEXT_AFTER])
    found = bisect_left(ends, cursor)  # the token the cursor is in or just after
    at = found if found < len(tokens) and tokens[found].start < cursor else None
    typed, replace, quoted = "", 0, False
    before_end = after_start = 0
    if at is not None:
        token = tokens[at]
        inside = token.end > cursor or not token.closed or token.text.startswith("--")
        before_end, after_start = at, at + 1
        if token.kind == "number" or (token.kind in ("string", "comment", "quoted") and inside):
            if token.kind != "quoted":
                return []  # in a string, a comment or a number: nothing to complete
            name = _name(_Token("quoted", text_before_cursor[token.start :], 0, 0, False))
            typed, replace, quoted = (name.text if name else ""), cursor - token.start, True
        elif token.kind == "quoted":
            return []  # just after a complete quoted name
        elif token.kind == "word":
            typed, replace = text_before_cursor[token.start :], cursor - token.start
        else:
            before_end = at + 1
    statement_start = before_end
    while statement_start > 0 and tokens[statement_start - 1].text != ";":
        statement_start -= 1
    statement_end = after_start
    while statement_end < len(tokens) and tokens[statement_end].text != ";":
        statement_end += 1
    head = [t for t in tokens[statement_start:before_end] if t.kind not in ("space", "comment")]
    tail = [t for t in tokens[after_start:statement_end] if t.kind not in ("space", "comment")]
    statement = [*head, *tail]
    folded = typed.casefold()
    if limit <= 0:
        return []

    qualifier = _qualifier(head)
    if qualifier is not None:
        return _take(_qualified_entries(qualifier, statement, index), folded, replace, limit)

    lower = bool(typed) and typed == typed.lower() and typed != typed.upper()
    keywords: Iterable[_Entry] = () if quoted else _keywords(index, folded, lower=lower)
    relations = index.matching_relations(folded)
    if _expects_relation(head):
        return _take(_chain([relations, keywords]), folded, replace, limit)
    columns: list[_Entry] = []
    seen: set[int] = set()
    for relation in _mentioned(statement, index).values():
        if id(relation) not in seen:
            seen.add(id(relation))
            columns.extend(index.columns(relation))
    columns.sort(key=_order)
    return _take(_chain([columns, keywords, relations]), folded, replace, limit)


def _order(entry: _Entry) -> tuple[str, str]:
    return entry.key, entry.text


def _chain(groups: Iterable[Iterable[_Entry]]) -> Iterator[_Entry]:
    for group in groups:
        yield from group


def _take(entries: Iterable[_Entry], folded: str, replace: int, limit: int) -> list[Candidate]:
    chosen: list[Candidate] = []
    seen: set[str] = set()
    for entry in entries:
        if not entry.key.startswith(folded) or entry.text in seen:
            continue
        seen.add(entry.text)
        chosen.append(Candidate(entry.text, entry.kind, replace))
        if len(chosen) >= limit:
            break
    return chosen


def _keywords(index: _Index, folded: str, *, lower: bool) -> Iterator[_Entry]:
    upper = folded.upper()
    for word in index.keywords[bisect_left(index.keywords, upper) :]:
        if not word.startswith(upper):
            return
        yield _Entry(word.casefold(), word.lower() if lower else word, "keyword")


def _qualifier(head: list[_Token]) -> list[_Name] | None:
    """The `a.` or `schema.table.` just before the word being typed, if any."""
    if not head or head[-1].text != ".":
        return None
    parts: list[_Name] = []
    position = len(head) - 1
    while position >= 1 and head[position].text == "." and len(parts) < 2:
        name = _name(head[position - 1])
        if name is None:
            break
        parts.insert(0, name)
        position -= 2
    return parts


def _qualified_entries(
    qualifier: list[_Name], statement: list[_Token], index: _Index
) -> list[_Entry]:
    if not qualifier:
        return []
    if len(qualifier) == 1:
        by_alias = _mentioned(statement, index)
        relation = by_alias.get(qualifier[0].text.casefold()) or index.find(qualifier)
        if relation is not None:
            return index.columns(relation)
        if index.dialect == "postgres":  # `schema.`: its relations
            in_schema = index.by_schema.get(qualifier[0].text.casefold(), [])
            entries = [
                _Entry(r.name.casefold(), quote_name(r.name, "postgres"), r.kind) for r in in_schema
            ]
            return sorted(entries, key=_order)
        return []
    relation = index.find(qualifier)
    return index.columns(relation) if relation is not None else []


_CLAUSE_KEYWORDS = frozenset(
    """SELECT FROM WHERE JOIN ON USING GROUP ORDER BY HAVING LIMIT OFFSET SET VALUES INTO
    UPDATE DELETE INSERT RETURNING WINDOW TABLE WITH UNION EXCEPT INTERSECT CASE WHEN THEN
    ELSE END AND OR NOT IN AS""".split()
)
"""Keywords that end the list a comma continues."""


def _expects_relation(head: list[_Token]) -> bool:
    """Whether the word being typed is where a table name goes (after FROM, JOIN, ...)."""
    if not head:
        return False
    previous = head[-1]
    if previous.upper in _RELATION_KEYWORDS:
        return True
    if previous.text != ",":
        return False
    depth = 0
    for token in reversed(head[:-1]):  # a comma in a FROM list, not in parentheses
        if token.text == ")":
            depth += 1
        elif token.text == "(":
            if depth == 0:
                return False
            depth -= 1
        elif depth == 0 and token.upper in _CLAUSE_KEYWORDS:
            return token.upper in _LIST_KEYWORDS
    return False


def _mentioned(statement: list[_Token], index: _Index) -> dict[str, RelationNames]:
    """The relations the statement names, by alias and by name (case-folded)."""
    found: dict[str, RelationNames] = {}
    position = 0
    while position < len(statement):
        keyword = statement[position].upper
        position += 1
        if keyword not in _RELATION_KEYWORDS:
            continue
        while True:
            if position < len(statement) and statement[position].upper == "ONLY":
                position += 1
            parts, position = _dotted(statement, position)
            relation = index.find(parts)
            alias, position = _alias(statement, position, index)
            if relation is not None:
                found.setdefault(relation.name.casefold(), relation)
                if alias is not None:
                    found[alias.casefold()] = relation
            if keyword in _LIST_KEYWORDS and position < len(statement):
                if statement[position].text == ",":
                    position += 1
                    continue
            break
    return found


def _dotted(statement: list[_Token], position: int) -> tuple[list[_Name], int]:
    """The name at `position`, with its dotted qualifiers, and the position after it."""
    parts: list[_Name] = []
    while position < len(statement):
        name = _name(statement[position])
        if name is None or (not name.quoted and name.text.upper() in _RELATION_KEYWORDS):
            break
        parts.append(name)
        position += 1
        if position < len(statement) and statement[position].text == "." and len(parts) < 3:
            position += 1
            continue
        break
    return parts, position


def _alias(statement: list[_Token], position: int, index: _Index) -> tuple[str | None, int]:
    """The alias at `position` (`AS a`, or a bare `a`), and the position after it."""
    if position >= len(statement):
        return None, position
    token = statement[position]
    if token.upper == "AS" and position + 1 < len(statement):
        name = _name(statement[position + 1])
        return (name.text if name else None), position + 2
    if token.kind == "quoted" or (token.kind == "word" and token.upper not in index.not_alias):
        name = _name(token)
        return (name.text if name else None), position + 1
    return None, position
