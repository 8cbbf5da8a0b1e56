"""Per-space HNSW indexes: their names, their DDL, and whether one is ready.

Why per space and not one global index: a global HNSW index filtered by
``owner_id = x`` returns the index's nearest rows of *all* users and drops those of
others afterwards; with ``ef_search`` capped at 1000 a user holding a small share of
the rows gets a handful of results or none (DESIGN.md: recall@10 of 0.03-0.10 at 0.1-1%
selectivity; pgvector 0.8's iterative scans fill the answer, not its recall). A partial
index ``WHERE space_id = s`` holds exactly one user's vectors of one model, so an index
scan over it is never overfiltered by other users, and RLS still applies to every row it
returns.

Only spaces large enough for an exact scan to be slow get one (``optimize``); the
service role cannot create indexes, so ``photostore search optimize`` builds them as the
schema owner. An index is named after its space, so the planner finds it with one
catalog lookup and a dropped space's index is recognized as an orphan.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.domain.embeddings import Metric, SpaceRef
from photostore.domain.search import SpaceIndex

INDEX_PREFIX = "ix_embeddings_hnsw_"
# Above pgvector's defaults (16, 64): with them a 37,500-vector space gave recall@10
# 0.963 at ef_search 1,000 in bench/search.py, 0.983 with ef_construction 128. Build
# time grows with both; recall comes first.
HNSW_M = 24
HNSW_EF_CONSTRUCTION = 200
# The operator class of each metric: cosine spaces hold unit vectors, so their indexes
# order by the inner product (``search.vector_values``).
OPCLASS: dict[Metric, str] = {
    "cosine": "vector_ip_ops",
    "l2": "vector_l2_ops",
    "ip": "vector_ip_ops",
}

_READY_INDEX = text(
    "SELECT c.reltuples FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE i.indexrelid = to_regclass(:name) AND i.indisvalid AND i.indisready"
)


def index_name(space_id: uuid.UUID) -> str:
    return f"{INDEX_PREFIX}{space_id.hex}"


def space_id_of_index(name: str) -> uuid.UUID | None:
    """The space an index of ours belongs to, or None for any other name."""
    if not name.startswith(INDEX_PREFIX):
        return None
    try:
        return uuid.UUID(hex=name.removeprefix(INDEX_PREFIX))
    except ValueError:
        return None


def create_index_sql(space: SpaceRef, *, concurrently: bool = True) -> str:
    """DDL of the partial HNSW index of ``space``.

    The index is on the cast ``embedding::vector(d)`` because the column holds vectors
    of every dimension and HNSW needs a fixed one. The ids are UUIDs rendered by
    ``uuid.UUID``, so they are safe to place in the statement, and constants in the
    predicate are what lets PostgreSQL prove the index matches a query.
    """
    assert space.indexable, space
    how = "CONCURRENTLY " if concurrently else ""
    return (
        f"CREATE INDEX {how}IF NOT EXISTS {index_name(space.id)} ON embeddings "
        f"USING hnsw ((embedding::vector({space.dimension})) {OPCLASS[space.metric]}) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
        f"WHERE owner_id = '{space.owner_id}'::uuid AND space_id = '{space.id}'::uuid"
    )


async def ready_index(session: AsyncSession, space: SpaceRef) -> SpaceIndex | None:
    """The valid HNSW index of ``space``, or None (never built, dropped, or building)."""
    if not space.indexable:
        return None
    name = index_name(space.id)
    vectors = await session.scalar(_READY_INDEX, {"name": name})
    return None if vectors is None else SpaceIndex(name=name, vectors=float(vectors))
