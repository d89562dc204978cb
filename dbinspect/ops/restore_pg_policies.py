"""Rebuilds the row-level security of a PostgreSQL `json` backup's tables: `ENABLE` and
`FORCE ROW LEVEL SECURITY`, and each policy.

They go in last, once the rows, sequences and everything a policy's expressions may read
are in: rows loaded under a forced policy would be checked against it, and a sequence's
position is read from rows a policy could hide.

Roles are the server's, not the database's, so a backup holds none (a `json` restore
makes the restoring user the owner of everything, as it keeps no grants). A policy keeps
the roles it names that exist on this server; one it names that does not exist is left
out of it, and said so in one line. A role that does not exist could not have been
affected by the policy, so leaving it out changes nothing for anyone who can connect. A
policy naming only such roles is left out whole for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dbinspect import pg_driver

sql = pg_driver.sql
Run = Callable[[str, sql.Composable], None]


def restore_row_security(
    conn: pg_driver.Connection[tuple[Any, ...]],
    run: Run,
    structure: dict[str, list[dict[str, Any]]],
    tell: Callable[[str], None] | None,
) -> None:
    """Create every table's policies, then enable and force row-level security."""
    tables = structure.get("tables", [])
    named = {role for table in tables for p in table.get("policies", []) for role in p["roles"]}
    existing = _existing_roles(conn, named - {"public"})
    for table in tables:
        qualified = f"{table['schema']}.{table['name']}"
        target = sql.Identifier(table["schema"], table["name"])
        for policy in table.get("policies", []):
            roles = [r for r in policy["roles"] if r == "public" or r in existing]
            missing = [r for r in policy["roles"] if r not in roles]
            if missing and tell is not None:
                kept = "left out of it" if roles else "so the policy is left out"
                tell(
                    f"Policy {policy['name']} on {qualified} names roles that do not exist "
                    f"on this server ({', '.join(missing)}): {kept}"
                )
            if roles:
                run(f"policy {policy['name']} of {qualified}", _policy(target, policy, roles))
        for flag, action in (("row_security", "ENABLE"), ("force_row_security", "FORCE")):
            if table.get(flag):
                run(
                    f"row level security of {qualified}",
                    sql.SQL("ALTER TABLE {} {} ROW LEVEL SECURITY").format(target, sql.SQL(action)),
                )


def _existing_roles(conn: pg_driver.Connection[tuple[Any, ...]], names: set[str]) -> set[str]:
    if not names:
        return set()
    rows = conn.execute(
        "SELECT rolname::text FROM pg_roles WHERE rolname = ANY (%s)", (sorted(names),)
    ).fetchall()
    return {str(row[0]) for row in rows}


def _policy(target: sql.Composable, policy: dict[str, Any], roles: list[str]) -> sql.Composable:
    parts = [
        sql.SQL("CREATE POLICY {} ON {} AS {} FOR {} TO {}").format(
            sql.Identifier(policy["name"]),
            target,
            sql.SQL("PERMISSIVE" if policy["permissive"] else "RESTRICTIVE"),
            sql.SQL(_COMMANDS[policy["command"]]),
            sql.SQL(", ").join(
                sql.SQL("PUBLIC") if role == "public" else sql.Identifier(role) for role in roles
            ),
        )
    ]
    if policy.get("using") is not None:
        parts.append(sql.SQL("USING ({})").format(sql.SQL(policy["using"])))
    if policy.get("with_check") is not None:
        parts.append(sql.SQL("WITH CHECK ({})").format(sql.SQL(policy["with_check"])))
    return sql.SQL(" ").join(parts)


# The commands the catalog writes; a KeyError for any other is a damaged backup.
_COMMANDS = {name: name for name in ("ALL", "SELECT", "INSERT", "UPDATE", "DELETE")}
