"""Apply the Alembic migrations programmatically (``photostore migrate``, and at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import NullPool, create_engine, inspect, text

from photostore.db.rls import DEFAULT_APP_ROLE

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(owner_url: str, app_role: str = DEFAULT_APP_ROLE) -> Config:
    """An Alembic configuration that connects as the schema owner ``owner_url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's ini parser treats % as interpolation; URLs may contain %-escapes.
    config.set_main_option("sqlalchemy.url", owner_url.replace("%", "%%"))
    config.attributes["app_role"] = app_role
    return config


# The revisions of the development chain the baseline replaced (docs/decisions.md).
RETIRED_REVISIONS = frozenset(f"{n:04d}" for n in range(1, 10))


class RetiredSchema(RuntimeError):
    """The database was migrated by the development chain that the baseline replaced."""


def refuse_retired_schema(owner_url: str) -> None:
    """Raise :class:`RetiredSchema` if the database records a retired revision."""
    engine = create_engine(owner_url, poolclass=NullPool, hide_parameters=True)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT version_num FROM alembic_version")
                if inspect(conn).has_table("alembic_version")
                else text("SELECT NULL WHERE false")
            ).scalar()
    finally:
        engine.dispose()
    if found in RETIRED_REVISIONS:
        how = (
            "its schema is the baseline's: record it with UPDATE alembic_version SET "
            "version_num = '0001_baseline' (as the owner role), then start again"
            if found == "0009"
            else "migrate it to 0009 with the development build that made it, or recreate it"
        )
        raise RetiredSchema(
            f"the database is at revision {found} of the development migrations, which the "
            f"first release replaced by one baseline; {how}"
        )


def upgrade_to_head(owner_url: str, app_role: str = DEFAULT_APP_ROLE) -> None:
    """Bring the schema to the newest revision; safe to run from several processes."""
    refuse_retired_schema(owner_url)
    command.upgrade(alembic_config(owner_url, app_role), "head")
