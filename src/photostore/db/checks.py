"""Start-up checks that the database wall is really there."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def service_role_problems(engine: AsyncEngine) -> list[str]:
    """Why the role the service connects as could bypass row-level security, if it could."""
    problems = []
    async with engine.connect() as conn:
        role = (
            await conn.execute(
                text(
                    "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            )
        ).one()
        owned = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_tables "
                "WHERE schemaname = current_schema() AND tableowner = current_user"
            )
        )
    name, is_super, bypasses = role
    if is_super:
        problems.append(f"the service connects as {name!r}, a superuser")
    if bypasses:
        problems.append(f"the service role {name!r} has BYPASSRLS")
    if owned:
        problems.append(
            f"the service role {name!r} owns {owned} tables; run migrations as another role "
            "(PHOTOSTORE_MIGRATION_DATABASE_URL)"
        )
    return problems
