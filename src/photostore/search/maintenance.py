"""Index maintenance: give large spaces an HNSW index, drop indexes of gone spaces.

Runs as the schema owner (the service role may not create indexes), from
``photostore search optimize``. It reads spaces the way the service does, one user at a
time under row-level security (``app.system`` to list the users, ``app.user_id`` to
count each one's vectors), so it needs no privilege to bypass RLS. Indexes are built
and dropped ``CONCURRENTLY``: searches and writes go on while it works.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from photostore.db.sync_session import SyncDatabase
from photostore.search.indexes import INDEX_PREFIX, create_index_sql, space_id_of_index
from photostore.search.space import METRICS, SpaceRef

# Below this share of the build threshold an index is dropped again: a space shrinking
# around the threshold should not be rebuilt and dropped on every run.
DROP_BELOW_SHARE = 0.5

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


@dataclass(frozen=True)
class OptimizeReport:
    built: list[str]
    dropped: list[str]
    kept: list[str]


def _spaces(db: SyncDatabase) -> list[tuple[SpaceRef, int]]:
    """Every space of every user with its vector count, read under RLS."""
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


def optimize(
    owner_url: str,
    min_vectors: int,
    *,
    progress: Callable[[str], None] = lambda _: None,
    maintenance_work_mem: str = "2GB",
) -> OptimizeReport:
    """Bring the set of per-space HNSW indexes in line with the spaces' sizes."""
    with psycopg.connect(owner_url, autocommit=True) as conn:
        # The graph is built in memory when it fits; a spill to disk is far slower.
        conn.execute(
            sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem))
        )
        # The counts are read through the scoped transactions every tenant read uses.
        reads = SyncDatabase.connect(
            owner_url.replace("postgresql://", "postgresql+psycopg://", 1), 1
        )
        try:
            spaces = _spaces(reads)
        finally:
            reads.dispose()
        existing: dict[str, bool] = dict(conn.execute(_OUR_INDEXES, (INDEX_PREFIX + "%",)))
        wanted: dict[uuid.UUID, SpaceRef] = {}
        keep_existing: set[uuid.UUID] = set()
        for space, count in spaces:
            if not space.indexable:
                continue
            if count >= min_vectors:
                wanted[space.id] = space
            elif count >= min_vectors * DROP_BELOW_SHARE:
                keep_existing.add(space.id)
        report = OptimizeReport(built=[], dropped=[], kept=[])
        for name, valid in existing.items():
            space_id = space_id_of_index(name)
            # An invalid index is what an interrupted concurrent build leaves behind.
            if valid and space_id is not None and (space_id in wanted or space_id in keep_existing):
                report.kept.append(name)
                wanted.pop(space_id, None)
                continue
            progress(f"dropping {name}")
            conn.execute(
                sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(name))
            )
            report.dropped.append(name)
        for space in wanted.values():
            progress(f"building the HNSW index of space {space.name!r} ({space.id})")
            conn.execute(create_index_sql(space))
            report.built.append(space.name)
        return report
