"""Fixtures of the database tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from photostore.db.embedded import EmbeddedCluster, ensure_database


@pytest.fixture
def fresh_database(pg_cluster: EmbeddedCluster) -> Iterator[str]:
    """An empty database prepared as the embedded server prepares one: the owner role,
    the ``vector`` extension, the service role's schema usage. Its name is returned."""
    name = f"migrations_{os.getpid()}"
    ensure_database(pg_cluster, name)
    yield name
    with psycopg.connect(pg_cluster.url("postgres", "postgres", driver=""), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
