"""The vector cache's reads, in a transaction of the space's owner: the space's state, its
rows as one binary ``COPY``, and the change log since a generation (``db.search.changes``).

A space's rows come as bytes numpy reads without a Python object per row.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import EmbeddingSpace
from photostore.db.search.changes import changed_since
from photostore.db.search.packed import uuid_of
from photostore.db.session import driver_connection
from photostore.domain.embeddings import SpaceRef, SpaceState
from photostore.domain.search import ChangedImages

# COPY BINARY: an 11-byte signature, 4 bytes of flags, 4 of header extension; each row a
# 16-bit field count then per field a 32-bit length and the bytes; a 16-bit -1 trailer.
_COPY_HEADER = 19
_COPY_TRAILER = 2


def _row_dtype(dimension: int) -> np.dtype[np.void]:
    return np.dtype(
        [
            ("fields", ">i2"),
            ("id_length", ">i4"),
            ("image_id", "V16"),
            ("vector_length", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("values", ">f4", (dimension,)),
            ("taken_length", ">i4"),
            ("taken_at", ">i8"),
        ]
    )


def parse_copy_binary(
    data: bytes | bytearray, dimension: int
) -> tuple[NDArray[np.bytes_], NDArray[np.float32], NDArray[np.int64]]:
    """Image ids, vectors and dates (PostgreSQL's microseconds since 2000-01-01 UTC) from
    ``COPY (SELECT image_id, embedding, taken_at ...) TO STDOUT (FORMAT binary)``."""
    body = memoryview(data)[_COPY_HEADER : len(data) - _COPY_TRAILER]
    rows = np.frombuffer(body, dtype=_row_dtype(dimension))
    if len(rows) and (
        not (rows["fields"] == 3).all()
        or not (rows["id_length"] == 16).all()
        or not (rows["dim"] == dimension).all()
        or not (rows["taken_length"] == 8).all()
    ):
        raise ValueError("unexpected COPY row layout")
    ids = np.ascontiguousarray(rows["image_id"]).view("S16")
    return (
        ids,
        np.ascontiguousarray(rows["values"], dtype=np.float32),
        np.ascontiguousarray(rows["taken_at"], dtype=np.int64),
    )


class VectorReads:
    """What the vector cache reads of a space, in ``session``'s transaction (one of the
    space's owner, so row-level security fences every row)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def state(self, space: SpaceRef) -> SpaceState | None:
        """The space's generation and vector count now, or None if it was dropped."""
        row = (
            await self._session.execute(
                select(EmbeddingSpace.generation, EmbeddingSpace.vector_count).where(
                    EmbeddingSpace.owner_id == space.owner_id, EmbeddingSpace.id == space.id
                )
            )
        ).first()
        return None if row is None else SpaceState(generation=row[0], vectors=row[1])

    async def generation(self, space: SpaceRef) -> int | None:
        """The space's generation now, or None if it was dropped."""
        generation: int | None = await self._session.scalar(
            select(EmbeddingSpace.generation).where(
                EmbeddingSpace.owner_id == space.owner_id, EmbeddingSpace.id == space.id
            )
        )
        return generation

    async def copy(self, space: SpaceRef, only: NDArray[np.bytes_] | None = None) -> bytearray:
        """The space's rows of live images (``only`` those images' when given, as 16-byte
        ids) as ``COPY ... (FORMAT binary)`` on the session's own connection, for
        :func:`parse_copy_binary`."""
        driver = driver_connection(self._session)
        buffer = bytearray()
        # COPY takes no parameters; every value below is a UUID made here, not a string
        # given.
        listed = ""
        if only is not None:
            ids = ",".join(f"'{uuid_of(raw)}'" for raw in only)
            listed = f" AND e.image_id IN ({ids})"
        statement = (
            "COPY (SELECT e.image_id, e.embedding, i.taken_at FROM embeddings e "  # noqa: S608
            "JOIN images i ON i.owner_id = e.owner_id AND i.id = e.image_id "
            f"WHERE e.owner_id = '{space.owner_id}' AND e.space_id = '{space.id}'{listed} "
            f"AND i.owner_id = '{space.owner_id}' AND i.trashed_at IS NULL) "
            "TO STDOUT (FORMAT binary)"
        )
        async with driver.cursor() as cursor, cursor.copy(statement) as copy:
            async for chunk in copy:
                buffer += chunk
        return buffer

    async def changed_since(self, space: SpaceRef, generation: int) -> ChangedImages | None:
        """:func:`db.search.changes.changed_since` in this transaction."""
        return await changed_since(self._session, space, generation)
