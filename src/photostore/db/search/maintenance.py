"""The statements of index maintenance (``search.maintenance``): every user's spaces and
their vector counts, the HNSW indexes of ours that exist, and their builds and drops.

The counts are read the way the service reads, one user at a time under row-level
security (``app.system`` to list the users, ``app.user_id`` to count each one's
vectors), so maintenance needs no privilege to bypass RLS. Indexes are built and dropped
``CONCURRENTLY`` on an autocommit connection of the schema owner (the service role may
not create indexes): searches and writes go on meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from photostore.db.search.indexes import INDEX_PREFIX, create_index_sql
from photostore.db.sync_session import SyncDatabase
from photostore.domain.embeddings import METRICS, SpaceRef

_SPACES_OF_USER = """
    SELECT s.id, s.name, s.dimension, s.metric, count(e.image_id)
    FROM embedding_spaces s
    LEFT JOIN embeddings e ON e.owner_id = s.owner_id AND e.space_id = s.id
    WHERE s.owner_id = %s
    GROUP BY s.id, s.name, s.dimension, s.metric
"""
_OUR_INDEXES = """
    SELECT c.relname, i.indisvalid
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'embeddings'::regclass AND c.relname LIKE %s
"""


def spaces_with_counts(owner_url: str) -> list[tuple[SpaceRef, int]]:
    """Every space of every user with its vector count, read under RLS."""
    db = SyncDatabase.connect(owner_url.replace("postgresql://", "postgresql+psycopg://", 1), 1)
    try:
        with db.for_system() as conn:
            users = [row[0] for row in conn.exec_driver_sql("SELECT id FROM users")]
        found: list[tuple[SpaceRef, int]] = []
        for user_id in users:
            with db.for_user(user_id) as conn:
                for space_id, name, dimension, metric, count in conn.exec_driver_sql(
                    _SPACES_OF_USER, (user_id,)
                ):
                    assert metric in METRICS, metric
                    space = SpaceRef(space_id, user_id, name, dimension, metric)
                    found.append((space, int(count)))
        return found
    finally:
        db.dispose()


class IndexMaintenance:
    """The schema owner's autocommit connection, which lists, builds and drops the
    per-space HNSW indexes."""

    def __init__(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self._conn = conn

    @classmethod
    @contextmanager
    def connect(cls, owner_url: str, maintenance_work_mem: str) -> Iterator[IndexMaintenance]:
        with psycopg.connect(owner_url, autocommit=True) as conn:
            # The graph is built in memory when it fits; a spill to disk is far slower.
            conn.execute(
                sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem))
            )
            yield cls(conn)

    def indexes(self) -> dict[str, bool]:
        """Our HNSW indexes by name, and whether each is valid (an invalid one is what an
        interrupted concurrent build leaves behind)."""
        rows = self._conn.execute(_OUR_INDEXES, (INDEX_PREFIX + "%",))
        return {str(name): bool(valid) for name, valid in rows}

    def drop(self, name: str) -> None:
        self._conn.execute(
            sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name))
        )

    def build(self, space: SpaceRef) -> None:
        self._conn.execute(create_index_sql(space))
