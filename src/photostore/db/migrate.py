"""Apply the Alembic migrations programmatically (``photostore migrate``, and at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

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


def upgrade_to_head(owner_url: str, app_role: str = DEFAULT_APP_ROLE) -> None:
    """Bring the schema to the newest revision; safe to run from several processes."""
    command.upgrade(alembic_config(owner_url, app_role), "head")
