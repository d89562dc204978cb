"""Provides the frozen records every layer shares: facts, schema objects, pages of rows."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

ObjectKind = Literal[
    "table",
    "view",
    "index",
    "trigger",
    "virtual table",
    # PostgreSQL's own kinds. A partition is a "table" whose details name its parent;
    # procedures, aggregates and window functions are "function"s (details: kind);
    # enum and domain types are "type"s (details: type).
    "partitioned table",
    "materialized view",
    "foreign table",
    "sequence",
    "function",
    "type",
    "extension",
    "schema",
]
OBJECT_KINDS: tuple[ObjectKind, ...] = ("table", "view", "index", "trigger", "virtual table")
"""SQLite's kinds."""
POSTGRES_OBJECT_KINDS: tuple[ObjectKind, ...] = (
    "schema",
    "extension",
    "type",
    "function",
    "sequence",
    "table",
    "partitioned table",
    "foreign table",
    "view",
    "materialized view",
    "index",
    "trigger",
)
"""PostgreSQL's kinds, in the order a catalog lists them."""
RELATION_KINDS: frozenset[ObjectKind] = frozenset(
    {
        "table",
        "view",
        "virtual table",
        "partitioned table",
        "materialized view",
        "foreign table",
    }
)
"""Kinds whose rows can be browsed."""
Value = None | int | float | str | bytes
SqlDialect = Literal["sqlite", "postgres"]
"""Whose SQL a database speaks (an export's INSERTs are written in it)."""
"""A value as SQLite returns it."""
Detail = None | bool | int | str | tuple[str, ...]
"""One labelled fact about an object (a sequence's increment, an enum's labels)."""


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
    partitioned_tables: int = 0
    materialized_views: int = 0
    foreign_tables: int = 0
    sequences: int = 0
    functions: int = 0
    types: int = 0
    extensions: int = 0
    schemas: int = 0


SQLITE_COUNTS = ("tables", "views", "indexes", "triggers", "virtual_tables", "internal")
"""The counts a SQLite database reports (the others are PostgreSQL's kinds)."""


@dataclass(frozen=True, slots=True)
class MigrationFact:
    """The latest migration recorded in a database's `_sqlx_migrations` table."""

    version: int
    description: str
    installed_on: str
    """When it was applied, as ISO 8601 text."""
    success: bool
    applied: int
    """How many rows record a successful migration."""
    failed: int
    """How many rows record a migration that failed part way (sqlx's dirty state)."""


@dataclass(frozen=True, slots=True)
class ServerFacts:
    """What a PostgreSQL server says about itself and about the inspection session."""

    server_version: str
    """`server_version`, e.g. `15.20 (Debian 15.20-0+deb12u1)`."""
    server_version_num: int
    """`server_version_num`, e.g. 150020."""
    host: str
    """Where the session is connected: a host name or address, or a socket directory."""
    port: int
    database: str
    user: str
    ssl: bool
    ssl_version: str | None
    """The TLS protocol in use (`TLSv1.3`), None without SSL."""
    search_path: str
    """`search_path` as set."""
    schemas_searched: tuple[str, ...]
    """The schemas it resolves to that exist (`current_schemas(false)`)."""
    encoding: str
    time_zone: str
    in_recovery: bool
    """A standby replaying WAL: nothing can be written there."""
    read_only_default: bool
    """`default_transaction_read_only` is set for this database or user (outside dbinspect)."""
    latest_migration: MigrationFact | None = None
    """From `_sqlx_migrations` on the search path; None when there is no such table."""
    migrations_unreadable: str | None = None
    """Why `_sqlx_migrations` is there but could not be read (no right, locked), if so."""

    @property
    def read_only_state(self) -> str:
        """The server's own read-only state in words (dbinspect's session is read-only anyway)."""
        if self.in_recovery:
            return "read-only (a standby in recovery)"
        if self.read_only_default:
            return "read-only by default (default_transaction_read_only for this database or user)"
        return "read-write"


@dataclass(frozen=True, slots=True)
class DatabaseFacts:
    """What the Connection and Metadata views say about a database.

    The file and engine fields are SQLite's; a PostgreSQL database fills `size_bytes`,
    `read_only`, `counts` and `server`, and leaves the others at their defaults.
    """

    path: str | None = None
    """Absolute path of the file, None for an in-memory database (and PostgreSQL)."""
    size_bytes: int = 0
    """Size of the main file in bytes (PostgreSQL: `pg_database_size`)."""
    wal_size_bytes: int | None = None
    """Size of the `-wal` file, None when there is none."""
    sqlite_version: str = ""
    journal_mode: str = ""
    page_size: int = 0
    page_count: int = 0
    freelist_count: int = 0
    encoding: str = ""
    user_version: int = 0
    schema_version: int = 0
    application_id: int = 0
    read_only: bool = True
    """Whether dbinspect holds the database read-only."""
    owner: str | None = None
    """The file owner's user name (or uid when it has no name)."""
    permissions: str | None = None
    """The file mode as `ls -l` shows it, e.g. `-rw-r--r--`."""
    counts: ObjectCounts = field(default_factory=ObjectCounts)
    sqlite_library: str = "system"
    """`bundled` (dbinspect's own current SQLite) or `system` (the standard library's)."""
    extensions: tuple[str, ...] = ()
    """The SQLite extensions loaded into the inspection connection."""
    server: ServerFacts | None = None
    """A PostgreSQL server's facts; None for SQLite."""


_GENERATED = {2: "virtual", 3: "stored"}


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
    identity: str | None = None
    """PostgreSQL identity column: `always` or `by default`; None otherwise."""
    expression: str | None = None
    """The expression of a generated column, where the engine reports it (PostgreSQL)."""
    collation: str | None = None
    """A collation declared for the column, where it differs from its type's."""
    comment: str | None = None

    @property
    def generated(self) -> str | None:
        """`virtual` or `stored` for a generated column, else None."""
        return _GENERATED.get(self.hidden)


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
    name: str | None = None
    """The constraint's name (PostgreSQL)."""
    schema: str | None = None
    """The declaring table's schema (PostgreSQL)."""
    ref_schema: str | None = None
    """The referenced table's schema (PostgreSQL)."""


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
    schema: str | None = None
    """The index's schema (PostgreSQL), the table's too."""
    valid: bool = True
    """False for an index a failed `CREATE INDEX CONCURRENTLY` left unusable."""
    size: int | None = None
    """Bytes on disk, where known."""
    definition: str | None = None
    """The engine's own CREATE INDEX statement (PostgreSQL's `pg_get_indexdef`)."""
    method: str | None = None
    """The access method (btree, gin, ...)."""
    partition_of: tuple[str, str] | None = None
    """The (schema, name) of the partitioned table's index this partition's index is
    attached to (PostgreSQL); None for any other index."""


@dataclass(frozen=True, slots=True)
class ConstraintInfo:
    """A check, unique or exclusion constraint of a table or domain (PostgreSQL)."""

    name: str
    kind: str
    """`check`, `unique`, `primary key` or `exclusion`."""
    definition: str
    """As `pg_get_constraintdef` writes it, e.g. `CHECK ((price > 0))`."""


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """A row-level security policy of a table (PostgreSQL's `CREATE POLICY`)."""

    name: str
    command: str
    """`ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`."""
    permissive: bool
    """False for a RESTRICTIVE policy."""
    roles: tuple[str, ...]
    """The roles it applies to, sorted; `public` for every role."""
    using: str | None
    """The USING expression, as `pg_get_expr` writes it."""
    with_check: str | None
    """The WITH CHECK expression."""


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
    schema: str | None = None
    """The schema the object lives in (PostgreSQL); None on SQLite."""
    comment: str | None = None
    """`COMMENT ON` text (PostgreSQL)."""
    size: int | None = None
    """Bytes on disk, where the catalog read tells (PostgreSQL indexes)."""
    valid: bool = True
    """False for an index a failed `CREATE INDEX CONCURRENTLY` left unusable."""
    constraints: tuple[ConstraintInfo, ...] = ()
    """Check, unique and exclusion constraints (PostgreSQL)."""
    details: tuple[tuple[str, Detail], ...] = ()
    """Labelled facts of its kind, for display as they are (a partition's bound, a
    sequence's increment, a function's arguments, an enum's labels)."""
    inherits: tuple[tuple[str, str], ...] = ()
    """The (schema, name) of each table it inherits from (`INHERITS`), in order; a
    partition's parent is in its details instead (PostgreSQL)."""
    policies: tuple[PolicyInfo, ...] = ()
    """Row-level security policies, by name (PostgreSQL)."""

    @property
    def qualified_name(self) -> str:
        """`schema.name` where there are schemas, else the name."""
        return self.name if self.schema is None else f"{self.schema}.{self.name}"

    def detail(self, label: str) -> Detail:
        """The detail called `label`, or None."""
        return next((value for key, value in self.details if key == label), None)


DEFAULT_SCHEMA = "public"
"""PostgreSQL's schema whose objects are also found by their bare name."""


@dataclass(frozen=True, slots=True, repr=False)
class Schema:
    """Every object of a database, sorted by kind then name (PostgreSQL: then schema too).

    On PostgreSQL names are unique per schema only: `get` takes `schema.name`, or a bare
    name for an object of `public`; where a function or type shares a table's name, the
    name finds the table.
    """

    objects: tuple[SchemaObject, ...]
    _by_name: dict[str, SchemaObject] = field(init=False, compare=False)
    _by_key: dict[tuple[str, str], SchemaObject] = field(init=False, compare=False)
    _by_table: dict[tuple[str | None, str], list[SchemaObject]] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        # Indexes built once: dumps and the UI look objects up by name per object.
        by_table: dict[tuple[str | None, str], list[SchemaObject]] = {}
        by_name: dict[str, SchemaObject] = {}
        by_key: dict[tuple[str, str], SchemaObject] = {}
        for obj in self.objects:
            by_table.setdefault((obj.schema, obj.table), []).append(obj)
            if obj.schema is None:
                if obj.kind in ("schema", "extension"):  # PostgreSQL's, named database-wide
                    _keep_relation(by_name, obj.name, obj)
                else:
                    by_name[obj.name] = obj
                continue
            _keep_relation(by_key, (obj.schema, obj.name), obj)
            _keep_relation(by_name, f"{obj.schema}.{obj.name}", obj)
            if obj.schema == DEFAULT_SCHEMA:
                _keep_relation(by_name, obj.name, obj)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_by_key", by_key)
        object.__setattr__(self, "_by_table", by_table)

    def __repr__(self) -> str:
        # Short on purpose: Python 3.11's asyncio.run reprs the main task's result
        # (and Textual's crash screen prints locals); a full repr of 20,000 objects
        # costs a noticeable fraction of a second each time.
        return f"Schema(<{len(self.objects)} objects>)"

    def of_kind(self, kind: ObjectKind, *, internal: bool = False) -> list[SchemaObject]:
        """The objects of one kind; SQLite's internal ones only when asked."""
        return [o for o in self.objects if o.kind == kind and o.internal == internal]

    def get(self, name: str, schema: str | None = None) -> SchemaObject | None:
        """The object called `name` (SQLite names are unique across kinds).

        PostgreSQL: `name` in `schema`; without `schema`, `name` may be `schema.name`,
        or a bare name in `public`. Exact, as the catalog spells it.
        """
        if schema is not None:
            return self._by_key.get((schema, name))
        return self._by_name.get(name)

    def _table_key(self, table: str | SchemaObject) -> tuple[str | None, str]:
        if isinstance(table, SchemaObject):
            return table.schema, table.name
        found = self._by_name.get(table)
        if found is not None and found.schema is not None:
            return found.schema, found.name
        return None, table

    def referencing(self, table: str | SchemaObject) -> list[ForeignKeyInfo]:
        """Foreign keys of other tables that point at `table` (a name or the object)."""
        schema, name = self._table_key(table)
        if schema is None:  # SQLite compares names as it resolves them: ignoring case
            folded = name.casefold()
            return [
                fk
                for obj in self.objects
                for fk in obj.foreign_keys
                if fk.ref_table.casefold() == folded
            ]
        return [
            fk
            for obj in self.objects
            for fk in obj.foreign_keys
            if fk.ref_table == name and fk.ref_schema == schema
        ]

    def belonging_to(self, table: str | SchemaObject, kind: ObjectKind) -> list[SchemaObject]:
        """Indexes or triggers defined on `table` (a name or the object)."""
        return [o for o in self._by_table.get(self._table_key(table), ()) if o.kind == kind]

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
            partitioned_tables=sum(o.kind == "partitioned table" for o in user),
            materialized_views=sum(o.kind == "materialized view" for o in user),
            foreign_tables=sum(o.kind == "foreign table" for o in user),
            sequences=sum(o.kind == "sequence" for o in user),
            functions=sum(o.kind == "function" for o in user),
            types=sum(o.kind == "type" for o in user),
            extensions=sum(o.kind == "extension" for o in user),
            schemas=sum(o.kind == "schema" for o in user),
        )


def _keep_relation(index: dict[Any, SchemaObject], key: Any, obj: SchemaObject) -> None:
    """Index `obj` under `key`, unless a table or view already holds it.

    PostgreSQL lets a function share a table's name (and a trigger an index's): a name
    looked up for browsing or for foreign keys means the relation.
    """
    held = index.get(key)
    if held is None or (held.kind not in RELATION_KINDS and obj.kind in RELATION_KINDS):
        index[key] = obj


class ChangeToken(NamedTuple):
    """What a backend's change poll reads, in two parts that move for different writes.

    A backend whose token is a plain value has every change treated as a catalog change.
    """

    catalog: Hashable
    """Moves when objects are created, altered or dropped: every pane reads again."""
    data: Hashable
    """Moves when rows may have changed (maybe in another database): rows are read again."""


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
