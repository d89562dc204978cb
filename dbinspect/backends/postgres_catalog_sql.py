"""The `pg_catalog` queries that read a whole PostgreSQL database's schema at once.

One query per kind of catalog row, each over every schema: pgcli reads every column of
every relation with one `pg_attribute` join, after its per-table `information_schema`
queries made start-up slow on big databases; a catalog read per tree node is what makes
harlequin-postgres look hung. The queries are sent together, in one round trip.

Sizes and most deparsing functions lock the relations they look at, for a moment: what
another session holds exclusively is left out rather than waited for (see `_BUSY`).

Deparsing (`pg_get_indexdef`, `pg_get_viewdef`, ...) is most of the server's work, and
an outline does without it: each such call sits behind `DETAILS`, which an outline
replaces with `false`.
"""

from __future__ import annotations

DETAILS = "/* details */ true"
"""Guards what only the full schema needs; `outline` reads with it replaced by false."""

# The schemas of PostgreSQL itself: pg_catalog, pg_toast, and every session's pg_temp_N
# and pg_toast_temp_N. No user schema can start with `pg_`.
_USER_SCHEMA = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"

# Functions and types an extension installed are the extension's: listed under it, as
# pg_dump does, not among the user's own (pg_trgm alone brings forty functions).
_NOT_FROM_EXTENSION = """NOT EXISTS (
    SELECT 1 FROM pg_depend e
    WHERE e.classid = '{catalog}'::regclass AND e.objid = {oid} AND e.deptype = 'e')"""

# A relation another session holds ACCESS EXCLUSIVE (a running ALTER TABLE, REINDEX or
# VACUUM FULL), or waits to hold so, cannot be read about without queueing behind it until
# `lock_timeout` fails the whole read: sizes open the relation, and in PostgreSQL 15 the
# deparsing functions lock the tables they deparse (pg_get_indexdef and pg_get_expr with
# a table, the definitions of views and of functions with SQL bodies the tables they
# read). Those are left out (NULL) for such relations, and the row says it is `blocked`.
_BUSY = """busy AS (
    SELECT relation FROM pg_locks
    WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock' AND pid <> pg_backend_pid()
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))"""


def _busy(oid: str) -> str:
    return f"{oid} IN (SELECT relation FROM busy)"


def _reads_busy(catalog: str, oid: str) -> str:
    """The object depends on a busy relation (a view's rule, a function's SQL body)."""
    return f"""EXISTS (
           SELECT 1 FROM pg_depend dep
           WHERE dep.classid = '{catalog}'::regclass AND dep.objid = {oid}
             AND dep.refclassid = 'pg_class'::regclass AND {_busy("dep.refobjid")})"""


SCHEMAS = f"""
SELECT n.nspname, pg_get_userbyid(n.nspowner), d.description
FROM pg_namespace n
LEFT JOIN pg_description d
  ON d.objoid = n.oid AND d.classoid = 'pg_namespace'::regclass AND d.objsubid = 0
WHERE {_USER_SCHEMA}
"""

EXTENSIONS = """
SELECT x.extname, x.extversion, n.nspname, d.description
FROM pg_extension x
JOIN pg_namespace n ON n.oid = x.extnamespace
LEFT JOIN pg_description d
  ON d.objoid = x.oid AND d.classoid = 'pg_extension'::regclass AND d.objsubid = 0
"""

# Tables (r), partitioned tables (p), views (v), materialized views (m), foreign tables (f).
# A partition bound holds only constants: deparsed without its table (relid 0), no lock.
RELATIONS = f"""
WITH {_BUSY}, rel AS (
    SELECT c.*, {_busy("c.oid")} OR (c.relkind IN ('v', 'm') AND EXISTS (
               SELECT 1 FROM pg_rewrite r
               WHERE r.ev_class = c.oid AND {_reads_busy("pg_rewrite", "r.oid")})) AS blocked
    FROM pg_class c)
SELECT c.oid, n.nspname, c.relname, c.relkind, d.description,
       pn.nspname, pc.relname,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, 0) END,
       CASE WHEN c.relkind = 'p' AND NOT c.blocked THEN pg_get_partkeydef(c.oid) END,
       CASE WHEN {DETAILS} AND c.relkind IN ('v', 'm') AND NOT c.blocked THEN
           format(E'CREATE %s %I.%I AS\n',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' ELSE 'MATERIALIZED VIEW' END,
                  n.nspname, c.relname)
           || rtrim(pg_get_viewdef(c.oid), E' \n;') END,
       c.relpersistence, pg_get_userbyid(c.relowner), c.blocked,
       c.relrowsecurity, c.relforcerowsecurity, c.relispopulated
FROM rel c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description d
  ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN pg_class pc ON pc.oid = i.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_SCHEMA}
"""

# The default and a generated column's expression are both in pg_attrdef. Only a
# generated column's expression can name columns: a default is deparsed without its
# table (relid 0), which spares building the table's cache entry (ten times faster).
# Rows come unsorted: sorting 25,000 wide rows spills to disk under the default work_mem.
COLUMNS = f"""
WITH {_BUSY}
SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0)
            WHEN NOT {_busy("ad.adrelid")} THEN pg_get_expr(ad.adbin, ad.adrelid) END,
       a.attidentity, a.attgenerated,
       CASE WHEN a.attcollation <> t.typcollation THEN co.collname END,
       d.description
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_description d
  ON d.objoid = a.attrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum
WHERE {DETAILS} AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {_USER_SCHEMA}
"""


# Row-level security policies of every table. `polroles` is {0} for PUBLIC; role names
# come from pg_roles, which every user may read (pg_authid is the superuser's).
POLICIES = f"""
WITH {_BUSY}
SELECT p.polrelid, p.polname, p.polcmd, p.polpermissive,
       CASE WHEN p.polroles = '{{0}}'::oid[] THEN ARRAY['public']
            ELSE ARRAY(SELECT r.rolname::text FROM pg_roles r
                       WHERE r.oid = ANY (p.polroles) ORDER BY 1) END,
       CASE WHEN NOT {_busy("p.polrelid")} THEN pg_get_expr(p.polqual, p.polrelid) END,
       CASE WHEN NOT {_busy("p.polrelid")} THEN pg_get_expr(p.polwithcheck, p.polrelid) END
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {DETAILS} AND {_USER_SCHEMA}
"""

# Every inheritance link but a partition's own (RELATIONS gives its parent and bound):
# a table's parents by `INHERITS`, in their order, and the partitioned table's index each
# partition's index is attached to.
INHERITS = f"""
SELECT i.inhrelid, pn.nspname, pc.relname
FROM pg_inherits i
JOIN pg_class c ON c.oid = i.inhrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class pc ON pc.oid = i.inhparent
JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE {DETAILS} AND (c.relkind IN ('i', 'I') OR NOT c.relispartition) AND {_USER_SCHEMA}
ORDER BY i.inhrelid, i.inhseqno
"""

# Key columns by number (0 for an expression, whose text pg_get_indexdef gives).
INDEXES = f"""
WITH {_BUSY}, ix AS (
    SELECT i.*, {_busy("i.indexrelid")} OR {_busy("i.indrelid")} AS blocked FROM pg_index i)
SELECT i.indexrelid, i.indrelid, n.nspname, ic.relname, i.indisunique, i.indisprimary,
       i.indisvalid,
       CASE WHEN {DETAILS} AND NOT i.blocked THEN pg_get_indexdef(i.indexrelid) END,
       am.amname,
       CASE WHEN NOT i.blocked THEN pg_get_expr(i.indpred, i.indrelid) END,
       (i.indkey::int2[])[0:i.indnkeyatts - 1],
       CASE WHEN {DETAILS} AND NOT i.blocked AND 0 = ANY (i.indkey::int2[]) THEN ARRAY(
           SELECT pg_get_indexdef(i.indexrelid, k, true)
           FROM generate_series(1, i.indnkeyatts) k) END,
       con.contype, d.description,
       CASE WHEN {DETAILS} AND NOT i.blocked THEN pg_relation_size(i.indexrelid) END,
       i.blocked
FROM ix i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace n ON n.oid = tc.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_constraint con
  ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x')
LEFT JOIN pg_description d
  ON d.objoid = i.indexrelid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
WHERE tc.relkind IN ('r', 'p', 'm', 'f') AND {_USER_SCHEMA}
"""

# Constraints of tables (conrelid) and of domains (contypid). A foreign key to a
# partitioned table is repeated by PostgreSQL for each of its partitions, as a child of
# the key on the same referencing table: those copies are left out. A partition's copy of
# its parent's key (another table) is its own and kept.
CONSTRAINTS = f"""
WITH {_BUSY}
SELECT con.conrelid, con.contypid, con.conname, con.contype,
       CASE WHEN con.contype <> 'f' AND NOT {_busy("con.conrelid")}
            THEN pg_get_constraintdef(con.oid, true) END,
       rn.nspname, rc.relname, con.conkey::int2[], con.confkey::int2[],
       con.confupdtype, con.confdeltype, con.confrelid
FROM pg_constraint con
JOIN pg_namespace n ON n.oid = con.connamespace
LEFT JOIN pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE {DETAILS} AND con.contype IN ('f', 'c', 'u', 'x', 'p') AND {_USER_SCHEMA}
  AND (con.conparentid = 0 OR con.contype <> 'f' OR NOT EXISTS (
      SELECT 1 FROM pg_constraint p
      WHERE p.oid = con.conparentid AND p.conrelid = con.conrelid))
ORDER BY con.conname
"""

TRIGGERS = f"""
WITH {_BUSY}
SELECT t.tgrelid, t.tgname,
       CASE WHEN {DETAILS} AND NOT {_busy("t.tgrelid")} THEN pg_get_triggerdef(t.oid, false) END,
       t.tgenabled, d.description, {_busy("t.tgrelid")}
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description d
  ON d.objoid = t.oid AND d.classoid = 'pg_trigger'::regclass AND d.objsubid = 0
WHERE NOT t.tgisinternal AND {_USER_SCHEMA}
"""

# The table and column a sequence belongs to: `a` for serial, `i` for identity columns.
SEQUENCES = f"""
SELECT n.nspname, c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
       s.seqmin, s.seqmax, s.seqcache, s.seqcycle, d.description,
       own_n.nspname, own_c.relname, own_a.attname, dep.deptype
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description d
  ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0
LEFT JOIN pg_depend dep
  ON dep.classid = 'pg_class'::regclass AND dep.objid = c.oid
 AND dep.refclassid = 'pg_class'::regclass AND dep.deptype IN ('a', 'i')
LEFT JOIN pg_class own_c ON own_c.oid = dep.refobjid
LEFT JOIN pg_namespace own_n ON own_n.oid = own_c.relnamespace
LEFT JOIN pg_attribute own_a ON own_a.attrelid = dep.refobjid AND own_a.attnum = dep.refobjsubid
WHERE {_USER_SCHEMA}
"""

# `oidvectortypes` gives the argument types only, so that overloads get distinct names:
# `add(integer, integer)`, as pg_dump and `regprocedure` name them.
FUNCTIONS = f"""
WITH {_BUSY}, fn AS (SELECT p.*, {_reads_busy("pg_proc", "p.oid")} AS blocked FROM pg_proc p)
SELECT n.nspname, p.proname, oidvectortypes(p.proargtypes), p.prokind,
       pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), l.lanname,
       p.provolatile,
       CASE WHEN {DETAILS} AND p.prokind IN ('f', 'p') AND NOT p.blocked
            THEN pg_get_functiondef(p.oid) END,
       d.description, p.blocked
FROM fn p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_description d
  ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass AND d.objsubid = 0
WHERE {_USER_SCHEMA}
  AND {_NOT_FROM_EXTENSION.format(catalog="pg_proc", oid="p.oid")}
"""

TYPES = f"""
SELECT t.oid, n.nspname, t.typname, t.typtype,
       CASE WHEN t.typtype = 'e' THEN ARRAY(
           SELECT e.enumlabel::text FROM pg_enum e
           WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
       t.typnotnull, t.typdefault, d.description,
       CASE WHEN t.typtype = 'c' THEN ARRAY(
           SELECT a.attname::text FROM pg_attribute a
           WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
           ORDER BY a.attnum) END,
       CASE WHEN t.typtype = 'c' THEN ARRAY(
           SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
           WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
           ORDER BY a.attnum) END
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_description d
  ON d.objoid = t.oid AND d.classoid = 'pg_type'::regclass AND d.objsubid = 0
LEFT JOIN pg_class r ON r.oid = t.typrelid
WHERE (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND r.relkind = 'c'))  -- a table's row
  AND {_USER_SCHEMA}                                                        -- type is not one
  AND {_NOT_FROM_EXTENSION.format(catalog="pg_type", oid="t.oid")}
"""

# Every table's own size (heap, TOAST, free space and visibility maps): with its
# indexes' sizes from INDEXES, that is its `pg_total_relation_size`, without opening each
# table a second time to list its indexes.
TABLE_SIZES = f"""
WITH {_BUSY}
SELECT n.nspname, c.relname, CASE WHEN NOT {_busy("c.oid")} THEN pg_table_size(c.oid) END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND {_USER_SCHEMA}
"""
