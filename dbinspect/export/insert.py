"""What the SQL INSERTs of a table's rows leave out or add, read from its columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbinspect.browse.protocol import Relation, RowPager


@dataclass(frozen=True)
class InsertShape:
    """What the SQL INSERTs of a table's rows leave out or add, as `pg_dump --inserts`
    writes them: a generated column takes no value (the database computes it, and
    refuses one), and PostgreSQL's `GENERATED ALWAYS AS IDENTITY` column takes its value
    only with `OVERRIDING SYSTEM VALUE`."""

    generated: frozenset[str] = frozenset()
    """Columns the INSERTs leave out."""
    overriding: bool = False
    """Whether the INSERTs say `OVERRIDING SYSTEM VALUE`."""


PLAIN_INSERT = InsertShape()
"""Every column takes its value, and nothing is added."""


async def insert_shape(pager: RowPager, relation: Relation) -> InsertShape:
    """What SQL INSERTs of `relation`'s rows leave out or add (see `InsertShape`)."""
    schema = await pager.schema()
    found = schema.get(relation.name, relation.schema)
    if found is None and relation.schema is None:  # SQLite matches names ignoring case
        folded = relation.name.casefold()
        found = next((o for o in schema.objects if o.name.casefold() == folded), None)
    if found is None:
        return InsertShape()
    return InsertShape(
        generated=frozenset(c.name for c in found.columns if c.generated),
        overriding=any(c.identity == "always" for c in found.columns),
    )
