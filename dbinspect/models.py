"""Provides the frozen records every layer shares: facts, schema objects, pages of rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ObjectKind = Literal["table", "view", "index", "trigger", "virtual table"]
OBJECT_KINDS: tuple[ObjectKind, ...] = ("table", "view", "index", "trigger", "virtual table")
Value = None | int | float | str | bytes
"""A value as SQLite returns it."""


@dataclass(frozen=True, slots=True)
class ObjectCounts:
    """How many objects of each kind a database holds."""

    tables: int = 0
    views: int = 0
    indexes: int = 0
    triggers: int = 0
    virtual_tables: int = 0
    internal: int = 0
    """SQLite's own objects: autoindexes, sqlite_sequence, sqlite_stat*, shadow tables."""


@dataclass(frozen=True, slots=True)
class DatabaseFacts:
    """What the Connection and Metadata views say about a database file."""

    path: str | None
    """Absolute path of the file, None for an in-memory database."""
    size_bytes: int
    """Size of the main file in bytes."""
    wal_size_bytes: int | None
    """Size of the `-wal` file, None when there is none."""
    sqlite_version: str
    journal_mode: str
    page_size: int
    page_count: int
    freelist_count: int
    encoding: str
    user_version: int
    schema_version: int
    application_id: int
    read_only: bool
    """Whether dbinspect holds the database read-only."""
    owner: str | None
    """The file owner's user name (or uid when it has no name)."""
    permissions: str | None
    """The file mode as `ls -l` shows it, e.g. `-rw-r--r--`."""
    counts: ObjectCounts = field(default_factory=ObjectCounts)
    sqlite_library: str = "system"
    """`bundled` (dbinspect's own current SQLite) or `system` (the standard library's)."""
    extensions: tuple[str, ...] = ()
    """The SQLite extensions loaded into the inspection connection."""


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column of a table or view, from `pragma_table_xinfo`."""

    name: str
    type: str
    not_null: bool
    default: str | None
    """The default as SQL text, exactly as declared."""
    pk: int
    """Position in the primary key (1-based), 0 when not part of it."""
    hidden: int
    """0 normal, 1 hidden (virtual tables), 2 generated virtual, 3 generated stored."""

    @property
    def generated(self) -> str | None:
        """`virtual` or `stored` for a generated column, else None."""
        return {2: "virtual", 3: "stored"}.get(self.hidden)


@dataclass(frozen=True, slots=True)
class ForeignKeyInfo:
    """One foreign key, from the table that declares it to the table it references."""

    table: str
    """The table that declares the key."""
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str | None, ...]
    """Referenced columns; None where the key names the parent's primary key implicitly."""
    on_update: str
    on_delete: str


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """One index of a table, explicit or automatic."""

    name: str
    table: str
    unique: bool
    origin: str
    """`c` for CREATE INDEX, `u` for a UNIQUE constraint, `pk` for a PRIMARY KEY."""
    columns: tuple[str, ...]
    """Key columns; an expression shows as `<expr>`."""
    where: str | None
    """The WHERE clause of a partial index."""


@dataclass(frozen=True, slots=True)
class SchemaObject:
    """A table, view, index, trigger or virtual table and everything known about it."""

    kind: ObjectKind
    name: str
    table: str
    """The table an index or trigger belongs to; the object's own name otherwise."""
    sql: str | None
    """The exact CREATE statement; None for automatic indexes."""
    internal: bool = False
    """One of SQLite's own objects (autoindex, sqlite_sequence, sqlite_stat*, shadow)."""
    columns: tuple[ColumnInfo, ...] = ()
    foreign_keys: tuple[ForeignKeyInfo, ...] = ()
    indexes: tuple[IndexInfo, ...] = ()
    without_rowid: bool = False
    strict: bool = False
    error: str | None = None
    """Why the object's details could not be read (e.g. a view on a dropped table)."""


@dataclass(frozen=True, slots=True, repr=False)
class Schema:
    """Every object of a database, sorted by kind then name."""

    objects: tuple[SchemaObject, ...]
    _by_name: dict[str, SchemaObject] = field(init=False, compare=False)
    _by_table: dict[str, list[SchemaObject]] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Indexes built once: dumps and the UI look objects up by name per object.
        by_table: dict[str, list[SchemaObject]] = {}
        for obj in self.objects:
            by_table.setdefault(obj.table, []).append(obj)
        object.__setattr__(self, "_by_name", {obj.name: obj for obj in self.objects})
        object.__setattr__(self, "_by_table", by_table)

    def __repr__(self) -> str:
        # Short on purpose: Python 3.11's asyncio.run reprs the main task's result
        # (and Textual's crash screen prints locals); a full repr of 20,000 objects
        # costs a noticeable fraction of a second each time.
        return f"Schema(<{len(self.objects)} objects>)"

    def of_kind(self, kind: ObjectKind, *, internal: bool = False) -> list[SchemaObject]:
        """The objects of one kind; SQLite's internal ones only when asked."""
        return [o for o in self.objects if o.kind == kind and o.internal == internal]

    def get(self, name: str) -> SchemaObject | None:
        """The object called `name` (SQLite names are unique across kinds)."""
        return self._by_name.get(name)

    def referencing(self, table: str) -> list[ForeignKeyInfo]:
        """Foreign keys of other tables that point at `table`."""
        return [
            fk
            for obj in self.objects
            for fk in obj.foreign_keys
            if fk.ref_table.casefold() == table.casefold()
        ]

    def belonging_to(self, table: str, kind: ObjectKind) -> list[SchemaObject]:
        """Indexes or triggers defined on `table`."""
        return [o for o in self._by_table.get(table, ()) if o.kind == kind]

    def counts(self) -> ObjectCounts:
        """Count objects by kind, SQLite's internal ones apart."""
        user = [o for o in self.objects if not o.internal]
        return ObjectCounts(
            tables=sum(o.kind == "table" for o in user),
            views=sum(o.kind == "view" for o in user),
            indexes=sum(o.kind == "index" for o in user),
            triggers=sum(o.kind == "trigger" for o in user),
            virtual_tables=sum(o.kind == "virtual table" for o in user),
            internal=len(self.objects) - len(user),
        )


@dataclass(frozen=True, slots=True)
class RowCount:
    """A table's row count, exact or estimated."""

    value: int
    exact: bool


@dataclass(frozen=True, slots=True)
class RowPage:
    """A slice of a table's rows in key order, with the key of each row for paging on."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]
    keys: tuple[tuple[Value, ...], ...]
    """The paging key of each row (rowid, primary key, or offset for views)."""
    key_columns: tuple[str, ...]
    """What the key is made of: `rowid`, the primary key columns, or `offset`."""
    truncated: tuple[tuple[tuple[int, int], ...], ...] = ()
    """Per row, `(column index, full length)` of each cell cut short; empty when none were."""


FilterOperator = Literal[
    "equals", "not equals", "<", "<=", ">", ">=", "like", "is null", "is not null"
]


@dataclass(frozen=True, slots=True)
class Filter:
    """Which rows to show, as data: each backend writes its own SQL for it."""

    column: str
    operator: FilterOperator
    value: Value = None
    """What to compare with (`like`: a pattern, `%` any run, `_` any one character)."""
    case_sensitive: bool = True
    """Whether letters must match in case (`like` in SQL usually ignores it: say False)."""


@dataclass(frozen=True, slots=True)
class RowQuery:
    """How rows are browsed: filters (all must hold) and a sort column."""

    filters: tuple[Filter, ...] = ()
    sort_column: str | None = None
    descending: bool = False

    @property
    def plain(self) -> bool:
        """Whether rows come in key order, unfiltered."""
        return not self.filters and self.sort_column is None


@dataclass(frozen=True, slots=True)
class CellValue:
    """One cell read for display in full (up to a limit)."""

    value: Value
    """The value, cut to the limit asked for when it is longer."""
    size: int
    """Its full length: characters for text, bytes for a BLOB, 0 for NULL and numbers."""
    type: str
    """SQLite's `typeof()`: null, integer, real, text or blob."""
