"""Alembic environment: runs migrations as the schema owner, one process at a time."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from photostore.db.models import Base

# Serializes migrations of several processes starting at once on the same database.
_MIGRATION_LOCK_KEY = 7_246_001

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        try:
            context.configure(connection=connection, target_metadata=target_metadata)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            connection.commit()
    engine.dispose()


run_migrations_online()
