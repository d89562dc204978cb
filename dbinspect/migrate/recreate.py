"""Writes the SQL of SQLite's 12-step table recreation, for `dbinspect migrate recreate`.

SQLite's ALTER TABLE cannot change a column's type, constraints, default or order, nor a
table's primary key; the documented way is to recreate the table
(https://www.sqlite.org/lang_altertable.html#otheralter). This module turns a table's
CREATE TABLE text and a list of changes into an up file and a down file that do it.

The CREATE TABLE text is read with a small tokenizer and parser written here, on
purpose: the general SQL parsers (sqlglot and the like) are heavy, know SQLite's
grammar only in part (generated columns, conflict clauses, STRICT, WITHOUT ROWID) and
re-print what they parse in their own spelling. This one reads only the part of
SQLite's grammar a CREATE TABLE uses, keeps every constraint's text exactly as written,
and refuses what it does not understand rather than guess. Expressions are never
parsed: they are kept as the text between balanced parentheses.

Pure text generation: no database is opened here. Renamed columns are renamed by
SQLite itself (ALTER TABLE ... RENAME COLUMN, which rewrites indexes, triggers, views
and other tables' foreign keys); the caller hands over the texts SQLite wrote (see
`dbinspect.ops.recreate`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from dbinspect.backends.sqlite_names import quote_identifier as q
from dbinspect.errors import MigrationError

# --- tokens -----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<ws>\s+|--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<blob>[xX]'[0-9A-Fa-f]*')
    |(?P<string>'(?:[^']|'')*')
    |(?P<ident>"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\])
    |(?P<number>0[xX][0-9A-Fa-f]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)
    |(?P<word>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
    |(?P<variable>[?:@$][A-Za-z0-9_$]*)
    |(?P<punct>\|\||<<|>>|<=|>=|==|!=|<>|->>|->|[^\s])""",
    re.DOTALL | re.VERBOSE,
)


class Token(NamedTuple):
    kind: str
    """`word`, `ident` (quoted), `string`, `blob`, `number`, `variable` or `punct`."""
    text: str
    start: int
    end: int

    @property
    def upper(self) -> str:
        """A keyword's upper-cased text; empty for anything but a bare word."""
        return self.text.upper() if self.kind == "word" else ""

    def is_name(self) -> bool:
        """Whether the token can be a name (SQLite also takes a string there)."""
        return self.kind in ("word", "ident", "string")

    @property
    def name(self) -> str:
        """The name the token spells, without its quotes."""
        if self.kind == "ident":
            if self.text[0] == "[":
                return self.text[1:-1]
            quote = self.text[0]
            return self.text[1:-1].replace(quote * 2, quote)
        if self.kind == "string":
            return self.text[1:-1].replace("''", "'")
        return self.text


def tokenize(sql: str) -> list[Token]:
    """The tokens of `sql`, without whitespace and comments.

    Raises:
        MigrationError: An unterminated quote.
    """
    tokens = []
    pos = 0
    while pos < len(sql):
        match = _TOKEN.match(sql, pos)
        if match is None or (match.lastgroup == "punct" and match.group() in "'\"`["):
            raise MigrationError(
                f"cannot read the SQL: an unterminated quote at {sql[pos:][:30]!r}"
            )
        kind = match.lastgroup or "punct"
        if kind != "ws":
            tokens.append(Token(kind, match.group(), match.start(), match.end()))
        pos = match.end()
    return tokens


def names_in(sql: str) -> set[str]:
    """Every name the text spells (bare or quoted), case-folded: a cheap `mentions` test."""
    try:
        return {t.name.casefold() for t in tokenize(sql) if t.kind in ("word", "ident")}
    except MigrationError:
        return set()


def _balanced(tokens: list[Token], i: int) -> int:
    """The index just past the `)` that closes the `(` at `tokens[i]`."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].text == "(":
            depth += 1
        elif tokens[j].text == ")":
            depth -= 1
            if depth == 0:
                return j + 1
    raise MigrationError("cannot read the SQL: unbalanced parentheses")


def _split_commas(tokens: list[Token]) -> list[list[Token]]:
    """Split on the commas outside parentheses."""
    items: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        if token.text == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(token)
    return items


# --- the table's definition ------------------------------------------------------------

_COLUMN_CONSTRAINT_STARTS = frozenset(
    {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE"}
    | {"REFERENCES", "GENERATED", "AS"}
)
_TABLE_CONSTRAINT_STARTS = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"})
_DEFAULT_WORDS = frozenset(
    {"NULL", "TRUE", "FALSE", "CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP"}
)


@dataclass(frozen=True, slots=True)
class Part:
    """One constraint, of a column or of the table, with its text as written."""

    kind: str
    """`pk`, `notnull`, `null`, `unique`, `check`, `default`, `collate`, `fk`, `generated`."""
    text: str
    columns: tuple[str, ...] = ()
    """The columns a table constraint names (its own, for a foreign key)."""
    autoincrement: bool = False


@dataclass(slots=True)
class Column:
    name: str
    type: str
    parts: list[Part] = field(default_factory=list)

    @property
    def generated(self) -> bool:
        return any(p.kind == "generated" for p in self.parts)

    def render(self) -> str:
        words = [q(self.name)]
        if self.type:
            words.append(self.type)
        words.extend(p.text for p in self.parts)
        return " ".join(words)


@dataclass(slots=True)
class TableDef:
    """A CREATE TABLE statement, parsed."""

    name: str
    columns: list[Column]
    constraints: list[Part]
    without_rowid: bool = False
    strict: bool = False
    verbatim: tuple[str, int, int] | None = None
    """The text parsed and where its table name is, when unchanged since parsed."""

    def column(self, name: str) -> Column | None:
        folded = name.casefold()
        return next((c for c in self.columns if c.name.casefold() == folded), None)

    @property
    def autoincrement(self) -> bool:
        return any(p.autoincrement for c in self.columns for p in c.parts)

    def primary_key(self) -> tuple[str, ...]:
        for column in self.columns:
            if any(p.kind == "pk" for p in column.parts):
                return (column.name,)
        for part in self.constraints:
            if part.kind == "pk":
                return part.columns
        return ()

    def rowid_alias(self) -> str | None:
        """The column that is the rowid (an INTEGER PRIMARY KEY), if any."""
        key = self.primary_key()
        if self.without_rowid or len(key) != 1:
            return None
        column = self.column(key[0])
        if column is None or column.type.upper() != "INTEGER":
            return None
        return column.name

    def render(self, name: str | None = None) -> str:
        if self.verbatim is not None:  # as written, under the new name
            sql, start, end = self.verbatim
            return sql[:start] + q(name or self.name) + sql[end:].rstrip().rstrip(";")
        items = [c.render() for c in self.columns] + [p.text for p in self.constraints]
        body = ",\n  ".join(items)
        options = [
            o for o, on in (("WITHOUT ROWID", self.without_rowid), ("STRICT", self.strict)) if on
        ]
        tail = (" " + ", ".join(options)) if options else ""
        return f"CREATE TABLE {q(name or self.name)} (\n  {body}\n){tail}"

    def copy(self) -> TableDef:
        return replace(
            self,
            columns=[Column(c.name, c.type, list(c.parts)) for c in self.columns],
            constraints=list(self.constraints),
            verbatim=None,
        )


class _Reader:
    """Reads tokens of one CREATE TABLE left to right; keeps the source for exact text."""

    def __init__(self, sql: str, tokens: list[Token]) -> None:
        self.sql = sql
        self.tokens = tokens
        self.i = 0

    def peek(self, ahead: int = 0) -> Token | None:
        j = self.i + ahead
        return self.tokens[j] if j < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return token.upper if token else ""

    def take(self, *words: str) -> bool:
        """Consume the keywords `words` if they come next."""
        if all(self.word(k) == w for k, w in enumerate(words)):
            self.i += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.take(*words):
            raise self.error(f"expected {' '.join(words)}")

    def name(self) -> str:
        token = self.peek()
        if token is None or not token.is_name():
            raise self.error("expected a name")
        self.i += 1
        return token.name

    def parens(self) -> None:
        token = self.peek()
        if token is None or token.text != "(":
            raise self.error("expected (")
        self.i = _balanced(self.tokens, self.i)

    def names_in_parens(self) -> tuple[str, ...]:
        """`(a [COLLATE x] [ASC|DESC], ...)`: the names."""
        start = self.i
        self.parens()
        names = []
        for item in _split_commas(self.tokens[start + 1 : self.i - 1]):
            if not item or not item[0].is_name():
                raise self.error("expected a column name")
            names.append(item[0].name)
        return tuple(names)

    def text(self, start: int) -> str:
        return self.sql[self.tokens[start].start : self.tokens[self.i - 1].end]

    def error(self, what: str) -> MigrationError:
        token = self.peek()
        near = repr(token.text) if token else "the end"
        return MigrationError(f"cannot read the CREATE TABLE statement: {what} near {near}")

    def conflict(self) -> None:
        if self.take("ON", "CONFLICT"):
            if self.word() not in ("ROLLBACK", "ABORT", "FAIL", "IGNORE", "REPLACE"):
                raise self.error("expected a conflict resolution")
            self.i += 1

    def foreign_key_clause(self) -> None:
        """`REFERENCES t [(cols)] [ON ... | MATCH x | [NOT] DEFERRABLE [INITIALLY ...]]...`."""
        self.expect("REFERENCES")
        self.name()
        if self.peek() is not None and self.peek().text == "(":  # type: ignore[union-attr]
            self.names_in_parens()
        while True:
            if self.take("ON"):
                if self.word() not in ("DELETE", "UPDATE"):
                    raise self.error("expected DELETE or UPDATE")
                self.i += 1
                if not (
                    self.take("SET", "NULL")
                    or self.take("SET", "DEFAULT")
                    or self.take("CASCADE")
                    or self.take("RESTRICT")
                    or self.take("NO", "ACTION")
                ):
                    raise self.error("expected a foreign key action")
            elif self.take("MATCH"):
                self.name()
            elif self.take("NOT", "DEFERRABLE") or self.take("DEFERRABLE"):
                if self.take("INITIALLY"):
                    if not (self.take("DEFERRED") or self.take("IMMEDIATE")):
                        raise self.error("expected DEFERRED or IMMEDIATE")
            else:
                return

    def column_part(self) -> Part:
        start = self.i
        if self.take("CONSTRAINT"):
            self.name()
        word = self.word()
        kind, autoincrement = word, False
        if self.take("PRIMARY", "KEY"):
            kind = "pk"
            if self.word() in ("ASC", "DESC"):
                self.i += 1
            self.conflict()
            autoincrement = self.take("AUTOINCREMENT")
        elif self.take("NOT", "NULL"):
            kind = "notnull"
            self.conflict()
        elif self.take("NULL"):
            kind = "null"
            self.conflict()
        elif self.take("UNIQUE"):
            kind = "unique"
            self.conflict()
        elif self.take("CHECK"):
            kind = "check"
            self.parens()
        elif self.take("DEFAULT"):
            kind = "default"
            self.default_value()
        elif self.take("COLLATE"):
            kind = "collate"
            self.name()
        elif word == "REFERENCES":
            kind = "fk"
            self.foreign_key_clause()
        elif self.take("GENERATED", "ALWAYS", "AS") or self.take("AS"):
            kind = "generated"
            self.parens()
            if self.word() in ("STORED", "VIRTUAL"):
                self.i += 1
        else:
            raise self.error("expected a column constraint")
        return Part(kind, self.text(start), autoincrement=autoincrement)

    def default_value(self) -> None:
        token = self.peek()
        if token is None:
            raise self.error("expected a default value")
        if token.text == "(":
            self.parens()
            return
        if token.text in ("+", "-"):
            self.i += 1
            token = self.peek()
            if token is None or token.kind != "number":
                raise self.error("expected a number")
        if token.kind in ("number", "string", "blob", "word", "ident"):
            self.i += 1
            return
        raise self.error("expected a default value")

    def table_part(self) -> Part:
        start = self.i
        if self.take("CONSTRAINT"):
            self.name()
        columns: tuple[str, ...] = ()
        if self.take("PRIMARY", "KEY"):
            kind = "pk"
            columns = self.names_in_parens()
            self.conflict()
        elif self.take("UNIQUE"):
            kind = "unique"
            columns = self.names_in_parens()
            self.conflict()
        elif self.take("CHECK"):
            kind = "check"
            self.parens()
        elif self.take("FOREIGN", "KEY"):
            kind = "fk"
            columns = self.names_in_parens()
            self.foreign_key_clause()
        else:
            raise self.error("expected a table constraint")
        return Part(kind, self.text(start), columns)


def parse_create_table(sql: str) -> TableDef:
    """Parse a `CREATE TABLE` statement as SQLite stores it in `sqlite_schema`.

    Raises:
        MigrationError: Not a CREATE TABLE with a column list, or a clause this parser
            does not know (it refuses rather than guess).
    """
    tokens = tokenize(sql)
    if tokens and tokens[-1].text == ";":
        tokens.pop()
    r = _Reader(sql, tokens)
    r.expect("CREATE")
    if r.word() in ("TEMP", "TEMPORARY"):
        r.i += 1
    r.expect("TABLE")
    r.take("IF", "NOT", "EXISTS")
    name_start = tokens[r.i].start if r.peek() else 0
    name = r.name()
    if r.peek() is not None and r.peek().text == ".":  # type: ignore[union-attr]
        r.i += 1
        name = r.name()
    name_end = tokens[r.i - 1].end
    open_at = r.i
    r.parens()
    table = TableDef(name, [], [], verbatim=(sql, name_start, name_end))
    for item in _split_commas(tokens[open_at + 1 : r.i - 1]):
        if not item:
            raise MigrationError("cannot read the CREATE TABLE statement: an empty column")
        sub = _Reader(sql, item)
        if item[0].upper in _TABLE_CONSTRAINT_STARTS:
            table.constraints.append(sub.table_part())
        else:
            if table.constraints:
                raise sub.error("a column after the table constraints")
            column_name = sub.name()
            type_start = sub.i
            while sub.peek() is not None and sub.word() not in _COLUMN_CONSTRAINT_STARTS:
                if sub.peek().text == "(":  # type: ignore[union-attr]
                    sub.parens()
                elif sub.peek().is_name():  # type: ignore[union-attr]
                    sub.i += 1
                else:
                    raise sub.error("expected a type name")
            type_text = sub.text(type_start) if sub.i > type_start else ""
            column = Column(column_name, type_text)
            while sub.peek() is not None:
                column.parts.append(sub.column_part())
            table.columns.append(column)
        if sub.peek() is not None:
            raise sub.error("unexpected text")
    while r.peek() is not None:
        if r.take("WITHOUT"):
            if r.word() != "ROWID":
                raise r.error("expected ROWID")
            r.i += 1
            table.without_rowid = True
        elif r.take("STRICT"):
            table.strict = True
        elif r.peek() is not None and r.peek().text == ",":  # type: ignore[union-attr]
            r.i += 1
        else:
            raise r.error("unexpected text after the column list")
    if not table.columns:
        raise MigrationError("cannot read the CREATE TABLE statement: no columns")
    return table


# --- the changes -----------------------------------------------------------------------


@dataclass(slots=True)
class Changes:
    """What `migrate recreate` was asked to change, as its options say it."""

    types: list[tuple[str, str]] = field(default_factory=list)
    renames: list[tuple[str, str]] = field(default_factory=list)
    drops: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    not_null: list[str] = field(default_factory=list)
    nullable: list[str] = field(default_factory=list)
    defaults: list[tuple[str, str]] = field(default_factory=list)
    drop_defaults: list[str] = field(default_factory=list)
    pk: tuple[str, ...] | None = None
    add_fks: list[tuple[str, str]] = field(default_factory=list)
    """(column, `table(column) [actions]`)."""
    drop_fks: list[str] = field(default_factory=list)
    uniques: list[tuple[str, ...]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    column_order: tuple[str, ...] | None = None
    strict: bool | None = None
    without_rowid: bool = False

    def summary(self) -> list[str]:
        """The options, one line each, for the file's header."""
        lines = [f"--rename {a}={b}" for a, b in self.renames]
        lines += [f"--type {a}={b}" for a, b in self.types]
        lines += [f"--drop {c}" for c in self.drops]
        lines += [f"--add {c}" for c in self.adds]
        lines += [f"--not-null {c}" for c in self.not_null]
        lines += [f"--nullable {c}" for c in self.nullable]
        lines += [f"--default {a}={b}" for a, b in self.defaults]
        lines += [f"--drop-default {c}" for c in self.drop_defaults]
        if self.pk is not None:
            lines.append(f"--pk {','.join(self.pk)}")
        lines += [f"--add-fk {a}={b}" for a, b in self.add_fks]
        lines += [f"--drop-fk {c}" for c in self.drop_fks]
        lines += [f"--unique {','.join(u)}" for u in self.uniques]
        lines += [f"--check {c}" for c in self.checks]
        if self.column_order is not None:
            lines.append(f"--column-order {','.join(self.column_order)}")
        if self.strict is not None:
            lines.append("--strict" if self.strict else "--no-strict")
        if self.without_rowid:
            lines.append("--without-rowid")
        return lines

    def is_empty(self) -> bool:
        return not self.summary()


def affinity(declared: str, *, strict: bool = False) -> str:
    """SQLite's column affinity for a declared type (section 3.1 of datatype3.html).

    `ANY` in a STRICT table keeps every value as given: reported as `ANY`.
    """
    upper = declared.upper()
    if strict and upper.strip() == "ANY":
        return "ANY"
    if "INT" in upper:
        return "INTEGER"
    if any(s in upper for s in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper.strip():
        return "BLOB"
    if any(s in upper for s in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


def lossless_type_change(old: str, new: str) -> bool:
    """Whether every value stored under affinity `old` comes back intact from `new`.

    Args:
        old: An affinity, as `affinity` gives it.
        new: The same for the new type.
    """
    return old == new or new in ("ANY", "BLOB") or (old == "INTEGER" and new in ("TEXT", "NUMERIC"))


class Plan(NamedTuple):
    """The tables before and after, and how each new column gets its values."""

    old: TableDef
    new: TableDef
    sources: dict[str, str]
    """New column name -> old column name, for the columns copied."""
    lossy: list[str]
    """What the change loses, one line each (empty when nothing)."""


def _need(table: TableDef, name: str, option: str) -> Column:
    column = table.column(name)
    if column is None:
        raise MigrationError(f"{option}: table {table.name!r} has no column {name!r}")
    return column


def _names_list(text: str, option: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise MigrationError(f"{option}: expected COL[,COL...], got {text!r}")
    return names


def _check_expression(text: str, option: str) -> None:
    tokens = tokenize(text)
    if not tokens:
        raise MigrationError(f"{option}: the expression is empty")
    depth = 0
    for token in tokens:
        depth += token.text == "("
        depth -= token.text == ")"
        if depth < 0 or token.text == ";":
            raise MigrationError(f"{option}: {text!r} is not one expression")
    if depth:
        raise MigrationError(f"{option}: unbalanced parentheses in {text!r}")


def _check_type(text: str) -> str:
    """A type name: words and an optional `(n[, m])`; nothing that ends the column."""
    tokens = tokenize(text)
    i = 0
    while (
        i < len(tokens) and tokens[i].is_name() and tokens[i].upper not in _COLUMN_CONSTRAINT_STARTS
    ):
        i += 1
    if i < len(tokens) and tokens[i].text == "(":
        end = _balanced(tokens, i)
        inner = tokens[i + 1 : end - 1]
        if not all(t.kind == "number" or t.text in (",", "+", "-") for t in inner):
            i = -1
        else:
            i = end
    if i != len(tokens):
        raise MigrationError(f"--type: {text!r} is not a type name (e.g. INTEGER, VARCHAR(20))")
    return text.strip()


def _default_text(expr: str) -> str:
    _check_expression(expr, "--default")
    tokens = tokenize(expr)
    simple = (
        len(tokens) == 1
        and (tokens[0].kind in ("number", "string", "blob") or tokens[0].upper in _DEFAULT_WORDS)
    ) or (len(tokens) == 2 and tokens[0].text in "+-" and tokens[1].kind == "number")
    return f"DEFAULT {expr.strip()}" if simple else f"DEFAULT ({expr.strip()})"


def _uses(part_text: str, name: str) -> bool:
    return name.casefold() in names_in(part_text)


def plan_changes(table: TableDef, changes: Changes) -> Plan:
    """Apply `changes` (renames excluded: SQLite did those) to `table`.

    Args:
        table: The definition after the renames.

    Raises:
        MigrationError: An option names a missing column, or asks for something the
            table cannot become.
    """
    new = table.copy()
    sources = {c.name: c.name for c in table.columns if not c.generated}
    lossy: list[str] = []
    for name in changes.drops:
        column = _need(new, name, "--drop")
        users = [p.text for p in new.constraints if _uses(p.text, column.name)]
        users += [
            f"column {c.name}"
            for c in new.columns
            if c is not column
            and any(_uses(p.text, column.name) for p in c.parts if p.kind in ("check", "generated"))
        ]
        if users:
            raise MigrationError(
                f"--drop: column {column.name!r} is used by {users[0]}",
                "drop or change that constraint or column in the same command first",
            )
        new.columns.remove(column)
        sources.pop(column.name, None)
        lossy.append(f"column {column.name} is dropped, with its values")
    if not new.columns:
        raise MigrationError("--drop: a table needs at least one column")
    for name, declared in changes.types:
        column = _need(new, name, "--type")
        column.type = _check_type(declared)
    for text in changes.adds:
        added = parse_create_table(f"CREATE TABLE x ({text})")
        if len(added.columns) != 1 or added.constraints:
            raise MigrationError(f"--add: {text!r} is not one column definition")
        column = added.columns[0]
        if new.column(column.name) is not None:
            raise MigrationError(f"--add: table {new.name!r} already has a column {column.name!r}")
        new.columns.append(column)
    for name in changes.not_null:
        column = _need(new, name, "--not-null")
        column.parts = [p for p in column.parts if p.kind not in ("notnull", "null")]
        column.parts.append(Part("notnull", "NOT NULL"))
    for name in changes.nullable:
        column = _need(new, name, "--nullable")
        column.parts = [p for p in column.parts if p.kind not in ("notnull", "null")]
    for name, expr in changes.defaults:
        column = _need(new, name, "--default")
        if column.generated:
            raise MigrationError(f"--default: column {column.name!r} is generated")
        column.parts = [p for p in column.parts if p.kind != "default"]
        column.parts.append(Part("default", _default_text(expr)))
    for name in changes.drop_defaults:
        column = _need(new, name, "--drop-default")
        if not any(p.kind == "default" for p in column.parts):
            raise MigrationError(f"--drop-default: column {column.name!r} has no default")
        column.parts = [p for p in column.parts if p.kind != "default"]
    if changes.pk is not None:
        key = tuple(_need(new, n, "--pk").name for n in changes.pk)
        for column in new.columns:
            column.parts = [p for p in column.parts if p.kind != "pk"]
        new.constraints = [p for p in new.constraints if p.kind != "pk"]
        new.constraints.insert(0, Part("pk", f"PRIMARY KEY ({', '.join(map(q, key))})", key))
    for name in changes.drop_fks:
        column = _need(new, name, "--drop-fk")
        before = len(column.parts) + len(new.constraints)
        column.parts = [p for p in column.parts if p.kind != "fk"]
        folded = column.name.casefold()
        new.constraints = [
            p
            for p in new.constraints
            if not (p.kind == "fk" and folded in {c.casefold() for c in p.columns})
        ]
        if len(column.parts) + len(new.constraints) == before:
            raise MigrationError(f"--drop-fk: column {column.name!r} has no foreign key")
    for name, target in changes.add_fks:
        column = _need(new, name, "--add-fk")
        text = f"FOREIGN KEY ({q(column.name)}) REFERENCES {target.strip()}"
        reader = _Reader(text, tokenize(text))
        try:
            part = reader.table_part()
        except MigrationError as error:
            raise MigrationError(
                f"--add-fk: expected COL=TABLE(COL), got {name}={target}"
            ) from error
        if reader.peek() is not None:
            raise MigrationError(f"--add-fk: expected COL=TABLE(COL), got {name}={target}")
        new.constraints.append(part)
    for names in changes.uniques:
        key = tuple(_need(new, n, "--unique").name for n in names)
        new.constraints.append(Part("unique", f"UNIQUE ({', '.join(map(q, key))})", key))
    for expr in changes.checks:
        _check_expression(expr, "--check")
        new.constraints.append(Part("check", f"CHECK ({expr.strip()})"))
    if changes.column_order is not None:
        first = [_need(new, n, "--column-order") for n in changes.column_order]
        if len({id(c) for c in first}) != len(first):
            raise MigrationError("--column-order: a column is named twice")
        new.columns = first + [c for c in new.columns if all(c is not f for f in first)]
    if changes.strict is not None:
        new.strict = changes.strict
    if table.autoincrement and not new.autoincrement:
        lossy.append("AUTOINCREMENT goes, and with it the table's high-water mark")
    if changes.without_rowid:
        if not new.primary_key():
            raise MigrationError("--without-rowid: the table needs a PRIMARY KEY (see --pk)")
        if new.autoincrement:
            raise MigrationError("--without-rowid: AUTOINCREMENT needs a rowid table")
        if not table.without_rowid and table.rowid_alias() is None:
            lossy.append("the table's rowid values are not kept")
        new.without_rowid = True
    for column in new.columns:  # a column made generated takes no copied values
        if column.generated:
            sources.pop(column.name, None)
    for target, source_name in sources.items():
        source, target_column = table.column(source_name), new.column(target)
        assert source is not None and target_column is not None
        was = affinity(source.type, strict=table.strict)
        now = affinity(target_column.type, strict=new.strict)
        if not lossless_type_change(was, now):
            lossy.append(
                f"column {target} changes from {was} to {now} affinity (type "
                f"{source.type or 'none'} to {target_column.type or 'none'}): "
                "values may be converted"
            )
    return Plan(table, new, sources, lossy)


def default_description(table: str) -> str:
    """`recreate_<table>`, the table's name reduced to what a file name takes everywhere."""
    part = re.sub(r"[^A-Za-z0-9_]+", "_", table).strip("_")
    return f"recreate_{part}" if part else "recreate_table"


# --- the files -------------------------------------------------------------------------


class Dependent(NamedTuple):
    """An index, trigger or view to put back after the table is recreated."""

    kind: str
    """`index`, `trigger` or `view`."""
    name: str
    table: str
    sql: str


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment(text: str) -> str:
    """One comment line: no line break may end the comment early."""
    return "-- " + " ".join(text.split())


def temporary_name(table: str, taken: set[str]) -> str:
    """A name for the new table that no object of the database has."""
    folded = {t.casefold() for t in taken}
    name, n = f"{table}__dbinspect_new", 1
    while name.casefold() in folded:
        n += 1
        name = f"{table}__dbinspect_new{n}"
    return name


def _copy_lists(
    old: TableDef, new: TableDef, sources: dict[str, str]
) -> tuple[list[str], list[str]]:
    """The INSERT's column list and the SELECT's expressions."""
    into, select = [], []
    if (
        not old.without_rowid
        and not new.without_rowid
        and new.rowid_alias() is None
        and not {"rowid", "oid", "_rowid_"}
        & {c.name.casefold() for c in [*old.columns, *new.columns]}
    ):
        into.append("rowid")  # keeps each row's rowid, as other tables may store it
        select.append("rowid")
    for column in new.columns:
        source_name = sources.get(column.name)
        if source_name is None or column.generated:
            continue
        source = old.column(source_name)
        assert source is not None
        into.append(q(column.name))
        # Where the type changes, values are converted as the new type says. Not to
        # ANY, which keeps every value as it is (a CAST would give it NUMERIC
        # affinity), and not for STRICT alone: it converts what it can and refuses the
        # rest, which rolls the copy back (a CAST would turn 'x' into 0 unseen).
        was = affinity(source.type, strict=old.strict)
        now = affinity(column.type, strict=new.strict)
        if column.type and now != "ANY" and was != now:
            select.append(f"CAST({q(source.name)} AS {column.type})")
        else:
            select.append(q(source.name))
    return into, select


@dataclass(slots=True)
class Recreation:
    """One direction: from the table as it is to `target`."""

    table: str
    current: TableDef
    target: TableDef
    sources: dict[str, str]
    renames: list[tuple[str, str]]
    """Done first, by SQLite (old name, new name)."""
    dependents: list[Dependent]
    """Indexes and triggers of the table, and what else mentions it, in creation order."""
    outside: list[Dependent]
    """Views and other tables' triggers that mention the table: dropped first, so that the
    rename of step 7 does not fail on them, and created again after."""
    children: list[str]
    """Tables whose foreign keys point at this one."""
    temporary: str


def _fk_check_statements(tables: list[str]) -> list[str]:
    checks = " UNION ALL ".join(
        f"SELECT 1 FROM pragma_foreign_key_check({_literal(t)})" for t in tables
    )
    check = q("dbinspect_foreign_key_check")
    return [
        f"CREATE TEMP TABLE {check} (violation);",
        f"CREATE TEMP TRIGGER {q('dbinspect_foreign_key_check_fails')} BEFORE INSERT ON {check}\n"
        "BEGIN\n"
        "  SELECT RAISE(ROLLBACK, 'foreign key violations after recreating the table; "
        "nothing was changed');\n"
        "END;",
        f"INSERT INTO temp.{check} SELECT 1 WHERE EXISTS ({checks});",
        f"DROP TABLE temp.{check};",
    ]


def render_file(step: Recreation, header: list[str]) -> str:
    """The whole `-- no-transaction` file for one direction."""
    t, new_name = step.table, step.temporary
    out = ["-- no-transaction", *(_comment(line) for line in header), ""]

    def say(*lines: str) -> None:
        out.extend(_comment(line) for line in lines)

    say(
        "Step 1: foreign keys off. This has no effect inside a transaction, which is why",
        "this file opens its own: with them on, dropping the old table would delete the rows",
        "of ON DELETE CASCADE children.",
    )
    out.append("PRAGMA foreign_keys = OFF;")
    say("Step 2: one transaction for every step.")
    out.append("BEGIN;")
    for old, new in step.renames:
        say(
            f"Rename column {old} to {new}: SQLite rewrites the indexes, triggers, views",
            "and other tables' foreign keys that name it.",
        )
        out.append(f"ALTER TABLE {q(t)} RENAME COLUMN {q(old)} TO {q(new)};")
    if step.outside:
        say(
            "Step 3: the views and other tables' triggers that name the table are dropped",
            "here and created again in step 9; the rename in step 7 would fail on them.",
        )
        for dependent in reversed(step.outside):
            out.append(f"DROP {dependent.kind.upper()} IF EXISTS {q(dependent.name)};")
    say("Step 4: the table with its new definition, under a temporary name.")
    out.append(step.target.render(new_name) + ";")
    into, select = _copy_lists(step.current, step.target, step.sources)
    if into:
        say(
            "Step 5: copy every row, naming each column. OR ROLLBACK: a row the new",
            "definition refuses rolls back the whole transaction.",
        )
        out.append(
            f"INSERT OR ROLLBACK INTO {q(new_name)} ({', '.join(into)})\n"
            f"  SELECT {', '.join(select)} FROM {q(t)};"
        )
    if step.current.autoincrement and step.target.autoincrement:
        say(
            "Keep AUTOINCREMENT's high-water mark (the old row in sqlite_sequence goes",
            "with the old table).",
        )
        out.append(
            f"DELETE FROM sqlite_sequence WHERE name = {_literal(new_name)};\n"
            f"INSERT INTO sqlite_sequence (name, seq)\n"
            f"  SELECT {_literal(new_name)}, seq FROM sqlite_sequence WHERE name = {_literal(t)};"
        )
    say("Step 6: drop the old table; its indexes and triggers go with it.")
    out.append(f"DROP TABLE {q(t)};")
    say("Step 7: give the new table the old name.")
    out.append(f"ALTER TABLE {q(new_name)} RENAME TO {q(t)};")
    if step.dependents:
        say("Steps 8 and 9: the indexes, triggers and views again.")
        for dependent in step.dependents:
            out.append(dependent.sql.rstrip().rstrip(";") + ";")
    say(
        "Step 10: check the foreign keys of the table and of the tables that point at it.",
        "A violation makes the trigger below roll the transaction back and fail the file.",
    )
    out.extend(_fk_check_statements([t, *step.children]))
    say("Step 11: commit.")
    out.append("COMMIT;")
    say("Step 12: foreign keys on again.")
    out.append("PRAGMA foreign_keys = ON;")
    return "\n".join(out) + "\n"


__all__ = [
    "Changes",
    "Column",
    "Dependent",
    "Part",
    "Plan",
    "Recreation",
    "TableDef",
    "affinity",
    "default_description",
    "lossless_type_change",
    "names_in",
    "parse_create_table",
    "plan_changes",
    "render_file",
    "temporary_name",
    "tokenize",
]
