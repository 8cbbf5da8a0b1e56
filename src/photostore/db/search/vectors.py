"""The rows of ``embeddings``: the vectors of one space, one at a time or many images'
vectors in one statement.

A backfill writes a library's vectors by the thousand. One ``INSERT ... SELECT FROM
unnest(ids, vectors) ... ON CONFLICT DO UPDATE`` stores a whole batch with the
upsert semantics of the single write: a vector for an image that has one replaces it.
The vectors travel as one ``vector[]`` parameter in PostgreSQL's binary format, built
by numpy in one buffer: no text to format in Python or to parse in the server.

The batch statement runs on the session's own connection, inside the caller's ``for_user``
transaction, so row-level security fences it like every other write, and the
statement-level triggers (migrations 0005-0009) move the space's generation, count and
change log once for the batch. Images are found through the caller's rows only: an id of
another user or of no image is left out by the join, and the caller refuses the batch
when fewer rows were written than sent (:meth:`VectorRepository.first_missing_image`).

``bench/vector_writes.py`` runs the same statement from a bare connection as its floor.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from psycopg import AsyncConnection
from psycopg.adapt import Dumper
from psycopg.pq import Format
from psycopg.types import TypeInfo
from sqlalchemy import ColumnElement, delete, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Embedding, Image
from photostore.db.session import driver_connection
from photostore.domain.embeddings import SpaceRef, StoredVector, Written

# Each image is probed through the primary key of ``images`` in a LATERAL subquery that
# PostgreSQL cannot flatten (LIMIT 1): a batch of 1,000 costs 1,000 index probes,
# whatever the owner's library size, where a hash join would read all of the owner's
# image rows (30,000 rows: 15 ms, measured for bench/vector_writes.py). Rows are written
# in image id order, so concurrent batches that share images lock them in the same order
# and cannot deadlock.
UPSERT_SQL = """
WITH written AS (
    INSERT INTO embeddings AS e
        (owner_id, space_id, image_id, embedding, updated_at)
    SELECT %(owner_id)s, %(space_id)s, i.id, v.embedding, %(now)s
    FROM unnest(%(image_ids)b::uuid[], %(vectors)b::vector[]) AS v (image_id, embedding)
    CROSS JOIN LATERAL (
        SELECT i.id FROM images i
        WHERE i.owner_id = %(owner_id)s AND i.id = v.image_id
        LIMIT 1
    ) AS i
    ORDER BY i.id
    ON CONFLICT (owner_id, space_id, image_id)
    DO UPDATE SET embedding = excluded.embedding, updated_at = excluded.updated_at
    RETURNING (xmax = 0) AS created
)
SELECT count(*), count(*) FILTER (WHERE created) FROM written
"""


class BinaryArray:
    """A parameter already in PostgreSQL's binary format of the type the statement casts
    it to."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class BinaryArrayDumper(Dumper):
    format = Format.BINARY
    # Unspecified: the server takes the type from the statement's cast (``::vector[]``).
    oid = 0

    def dump(self, obj: object) -> bytes:
        assert isinstance(obj, BinaryArray)
        return obj.data


class VectorRepository:
    """The vectors of one space, read and written in ``session``'s transaction (one of
    the space's owner)."""

    def __init__(self, session: AsyncSession, space: SpaceRef) -> None:
        self._session = session
        self.space = space

    def _of(self, image_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
        return (
            Embedding.owner_id == self.space.owner_id,
            Embedding.space_id == self.space.id,
            Embedding.image_id == image_id,
        )

    async def values_of(self, image_id: uuid.UUID) -> list[float] | None:
        """The vector ``image_id`` has in the space (normalized in cosine spaces), or None."""
        stored = await self._session.scalar(select(Embedding.embedding).where(*self._of(image_id)))
        return None if stored is None else [float(v) for v in stored]

    async def get(self, image_id: uuid.UUID) -> StoredVector | None:
        """The stored vector of ``image_id``, or None."""
        row = (
            await self._session.execute(
                select(Embedding.embedding, Embedding.updated_at).where(*self._of(image_id))
            )
        ).first()
        if row is None:
            return None
        return StoredVector(
            space=self.space,
            image_id=image_id,
            values=[float(v) for v in row.embedding],
            updated_at=row.updated_at,
        )

    async def put(self, image_id: uuid.UUID, vector: list[float], now: datetime) -> bool:
        """Store (or replace) the vector of ``image_id`` (an image of the owner, checked by
        the caller, ``vector`` by ``prepare_vector``); whether it is new."""
        statement = insert(Embedding).values(
            owner_id=self.space.owner_id,
            space_id=self.space.id,
            image_id=image_id,
            embedding=vector,
            updated_at=now,
        )
        # xmax is 0 on a freshly inserted row and set on the row an upsert updated.
        created = await self._session.scalar(
            statement.on_conflict_do_update(
                index_elements=["owner_id", "space_id", "image_id"],
                set_={"embedding": vector, "updated_at": now},
            ).returning(literal_column("(xmax = 0)"))
        )
        return bool(created)

    async def delete(self, image_id: uuid.UUID) -> bool:
        """Delete the vector of ``image_id``; whether there was one."""
        result = await self._session.execute(
            delete(Embedding).where(*self._of(image_id)).returning(Embedding.image_id)
        )
        return result.first() is not None

    async def upsert(
        self, image_ids: Sequence[uuid.UUID], vectors: NDArray[np.float32], now: datetime
    ) -> Written:
        """Store ``vectors[i]`` as the vector of ``image_ids[i]`` (ids distinct, rows checked
        by ``prepare_vectors``), replacing earlier ones; images that are not the space
        owner's are skipped, so ``stored`` falls short of the batch."""
        driver = driver_connection(self._session)
        vector_oid = await _vector_oid(driver)
        async with driver.cursor() as cursor:
            cursor.adapters.register_dumper(BinaryArray, BinaryArrayDumper)
            await cursor.execute(
                UPSERT_SQL,
                {
                    "owner_id": self.space.owner_id,
                    "space_id": self.space.id,
                    "now": now,
                    "image_ids": list(image_ids),
                    "vectors": BinaryArray(vector_array(vector_oid, vectors)),
                },
            )
            row = await cursor.fetchone()
        assert row is not None
        return Written(stored=int(row[0]), created=int(row[1]))

    async def first_missing_image(self, image_ids: Sequence[uuid.UUID]) -> int | None:
        """The position in ``image_ids`` of the first id that names no image of the owner."""
        owner_id = self.space.owner_id
        found = set(
            await self._session.scalars(
                select(Image.id).where(Image.owner_id == owner_id, Image.id.in_(image_ids))
            )
        )
        return next((n for n, image_id in enumerate(image_ids) if image_id not in found), None)


async def _vector_oid(driver: AsyncConnection[Any]) -> int:
    """The oid of pgvector's type in this database, fetched once per connection (psycopg
    keeps it in the connection's type registry)."""
    info = driver.adapters.types.get("vector")
    if info is None:
        info = await TypeInfo.fetch(driver, "vector")
        if info is None:
            raise RuntimeError("the pgvector extension is not installed in this database")
        info.register(driver)
    return info.oid


def vector_array(vector_oid: int, vectors: NDArray[np.float32]) -> bytes:
    """``vectors`` (one per row) as a one-dimensional ``vector[]`` in binary format.

    An array is a header (dimensions, null flag, element type, length, lower bound) and
    each element as a 32-bit length and its bytes; a vector is its 16-bit dimension, 16
    unused bits and big-endian float4 values (pgvector's ``vector_recv``).
    """
    count, dimension = vectors.shape
    header = np.array([1, 0, vector_oid, count, 1], dtype=">i4").tobytes()
    rows = np.zeros(
        count,
        dtype=[("length", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("values", ">f4", dimension)],
    )
    rows["length"] = 4 + 4 * dimension
    rows["dim"] = dimension
    rows["values"] = vectors
    return header + rows.tobytes()
