"""Start-up checks of the database: the engine photostore needs, the wall it relies on,
and the schema it was written for.

The service refuses to start, in every environment, on a database that would let it
run wrong: a PostgreSQL too old for the features the schema uses, a pgvector without
iterative index scans, a service role that row-level security does not bind, or a
schema at another revision than this photostore's newest (a newer photostore's, or an
older one nobody migrated). Each problem is named with what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from photostore.db.migrate import known_revisions, no_schema, revision_problem, too_old

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


# Whether the schema has a revision table, and whether the service role may read it
# (from migrate.READABLE_SINCE on).
_VERSION_TABLE = text(
    """
    SELECT t IS NOT NULL, coalesce(has_table_privilege(t, 'SELECT'), false)
      FROM to_regclass('alembic_version') AS t
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


async def _schema_problem(conn: AsyncConnection) -> str | None:
    """Why the schema is not the one this photostore serves (None when it is)."""
    known = known_revisions()
    exists, readable = (await conn.execute(_VERSION_TABLE)).one()
    if not exists:
        return no_schema()
    if not readable:
        return too_old(None, known[-1])
    found = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return revision_problem(found, known)


async def refuse_unfit_database(engine: AsyncEngine) -> None:
    """Raise :class:`DatabaseRefused` naming every problem of the service's database."""
    problems = database_problems(await read_database_facts(engine))
    if not problems:
        # The schema is read only on a database fit to hold it.
        async with engine.connect() as conn:
            schema = await _schema_problem(conn)
        problems = [schema] if schema is not None else []
    if problems:
        raise DatabaseRefused("photostore cannot use this database: " + "; ".join(problems))
