"""Start-up checks of the database: the engine photostore needs and the wall it relies on.

The service refuses to start, in every environment, on a database that would let it
run wrong: a PostgreSQL too old for the features the schema uses, a pgvector without
iterative index scans, or a service role that row-level security does not bind. Each
problem is named with what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

MIN_POSTGRES_MAJOR = 15
MIN_PGVECTOR = (0, 8)

# One round trip: what the server is, what it has, and who we are on it. A member of
# the tables' owner role could SET ROLE to it and turn row-level security off, so
# membership counts as owning.
_FACTS = text(
    """
    SELECT current_setting('server_version_num')::int,
           (SELECT extversion FROM pg_extension WHERE extname = 'vector'),
           r.rolname, r.rolsuper, r.rolbypassrls,
           (SELECT count(*) FROM pg_tables
             WHERE schemaname = current_schema()
               AND pg_has_role(current_user, tableowner, 'MEMBER'))
      FROM pg_roles r WHERE r.rolname = current_user
    """
)


class DatabaseRefused(RuntimeError):
    """The database cannot serve photostore as it is; the message says why and what to do."""


@dataclass(frozen=True)
class DatabaseFacts:
    """What the start-up check learns of the database the service connects to."""

    server_version_num: int
    pgvector_version: str | None
    role: str
    is_superuser: bool
    bypasses_rls: bool
    tables_owned: int


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def database_problems(facts: DatabaseFacts) -> list[str]:
    """Why photostore must not run on a database with these facts (empty when it may)."""
    problems = []
    major = facts.server_version_num // 10000
    if major < MIN_POSTGRES_MAJOR:
        problems.append(
            f"the server runs PostgreSQL {major}; photostore needs {MIN_POSTGRES_MAJOR} or newer"
        )
    wanted = ".".join(map(str, MIN_PGVECTOR))
    if facts.pgvector_version is None:
        problems.append(
            f"pgvector is not installed in this database; install pgvector {wanted} or newer "
            "and run CREATE EXTENSION vector as a superuser"
        )
    elif _version_tuple(facts.pgvector_version) < MIN_PGVECTOR:
        problems.append(
            f"pgvector is {facts.pgvector_version}; photostore needs {wanted} or newer "
            "(install it, then ALTER EXTENSION vector UPDATE)"
        )
    if facts.is_superuser:
        problems.append(
            f"the service connects as {facts.role!r}, a superuser, which row-level security "
            "does not bind"
        )
    if facts.bypasses_rls:
        problems.append(f"the service role {facts.role!r} has BYPASSRLS")
    if facts.tables_owned:
        problems.append(
            f"the service role {facts.role!r} owns {facts.tables_owned} tables, or is a "
            "member of the role that does; run migrations as another role "
            "(PHOTOSTORE_MIGRATION_DATABASE_URL) that the service role is not a member of"
        )
    return problems


async def read_database_facts(engine: AsyncEngine) -> DatabaseFacts:
    """Ask the database what :func:`database_problems` needs to know."""
    async with engine.connect() as conn:
        version, pgvector, role, is_super, bypasses, owned = (await conn.execute(_FACTS)).one()
    return DatabaseFacts(
        server_version_num=int(version),
        pgvector_version=pgvector,
        role=str(role),
        is_superuser=bool(is_super),
        bypasses_rls=bool(bypasses),
        tables_owned=int(owned),
    )


async def refuse_unfit_database(engine: AsyncEngine) -> None:
    """Raise :class:`DatabaseRefused` naming every problem of the service's database."""
    problems = database_problems(await read_database_facts(engine))
    if problems:
        raise DatabaseRefused("photostore cannot use this database: " + "; ".join(problems))
