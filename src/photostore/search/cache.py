"""An in-process, exact vector index: a user's space as one numpy matrix.

PostgreSQL reads a vector per heap tuple; a numpy matrix in memory is scanned at memory
bandwidth, which is the floor ``bench/search.py`` measures. Spaces with at least
``min_vectors`` vectors are loaded on first use (one binary ``COPY`` inside the caller's
row-level-security transaction, so only the caller's own rows can be read) and kept,
least recently used first out, within ``budget_bytes``.

Correctness: every query reads the space's ``generation`` (bumped by a trigger on every
change of its vectors, image purges included) in the caller's transaction and reloads
when it moved. The generation is read before the vectors, so a loaded matrix is never
older than the generation it is filed under. Which images are live (not trashed) and
which pass the caller's filters is always asked of the database, never cached.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Embedding, EmbeddingSpace
from photostore.search.space import Metric, SpaceRef

# COPY BINARY: an 11-byte signature, 4 bytes of flags, 4 of header extension; each row a
# 16-bit field count then per field a 32-bit length and the bytes; a 16-bit -1 trailer.
_COPY_HEADER = 19
_COPY_TRAILER = 2


@dataclass(frozen=True)
class SpaceMatrix:
    """The vectors of one space, row ``i`` belonging to ``image_ids[i]``."""

    generation: int
    metric: Metric
    image_ids: NDArray[np.bytes_]  # the 16 bytes of each row's image id ("S16")
    vectors: NDArray[np.float32]
    squared_norms: NDArray[np.float32]
    sorted_ids: NDArray[np.bytes_]
    sorted_rows: NDArray[np.intp]
    # The low 64 bits of each id (random in UUIDv4 and v7), sorted, when they are unique
    # in this space: 64-bit keys are searched several times faster than 16-byte strings.
    sorted_keys: NDArray[np.uint64] | None

    @classmethod
    def build(
        cls, generation: int, metric: Metric, ids: NDArray[np.bytes_], vectors: NDArray[np.float32]
    ) -> SpaceMatrix:
        order = np.argsort(ids, kind="stable")
        keys = _low_keys(ids)
        key_order = np.argsort(keys, kind="stable")
        unique = len(keys) == 0 or bool((np.diff(keys[key_order]) != 0).all())
        return cls(
            generation=generation,
            metric=metric,
            image_ids=ids,
            vectors=vectors,
            squared_norms=np.einsum("ij,ij->i", vectors, vectors).astype(np.float32),
            sorted_ids=ids[order] if not unique else ids[key_order],
            sorted_rows=order if not unique else key_order,
            sorted_keys=keys[key_order] if unique else None,
        )

    @property
    def nbytes(self) -> int:
        return int(
            self.vectors.nbytes + self.squared_norms.nbytes + 2 * self.image_ids.nbytes
        ) + int(self.sorted_rows.nbytes)

    def rows_of(self, ids: NDArray[np.bytes_]) -> NDArray[np.intp]:
        """The rows of those of ``ids`` (16-byte ids) the space has a vector for."""
        if len(ids) == 0 or len(self.sorted_ids) == 0:
            return np.empty(0, dtype=np.intp)
        if self.sorted_keys is not None:
            positions = np.searchsorted(self.sorted_keys, _low_keys(ids))
        else:
            positions = np.searchsorted(self.sorted_ids, ids)
        positions = np.minimum(positions, len(self.sorted_ids) - 1)
        # The full 16 bytes decide: a key shared with an id of another space is no match.
        found = self.sorted_ids[positions] == ids
        return np.asarray(self.sorted_rows[positions[found]], dtype=np.intp)

    def nearest_rows(
        self,
        query: NDArray[np.float32],
        k: int,
        rows: NDArray[np.intp] | None,
        skip: NDArray[np.intp],
    ) -> list[tuple[uuid.UUID, float]]:
        """The ``k`` nearest of ``rows`` (None: all rows but ``skip``), as (id, raw value)."""
        raw = self.raw_distances(query, rows)
        candidates = np.arange(len(self.image_ids)) if rows is None else rows
        if rows is None and len(skip):
            raw[skip] = np.inf
        count = min(k, int(np.isfinite(raw).sum()))
        if count == 0:
            return []
        best = np.argpartition(raw, count - 1)[:count] if count < len(raw) else np.arange(len(raw))
        ordered = sorted(
            ((float(raw[i]), bytes(self.image_ids[candidates[i]]).ljust(16, b"\0")) for i in best),
        )
        return [(uuid.UUID(bytes=image_id), value) for value, image_id in ordered[:count]]

    def raw_distances(
        self, query: NDArray[np.float32], rows: NDArray[np.intp] | None
    ) -> NDArray[np.float32]:
        """pgvector's operator values (``<#>`` or ``<->``) from ``query`` to ``rows``."""
        # Gathering rows copies them; past a share of the matrix, one pass over all of it
        # and a pick of the results is cheaper.
        gather = rows is not None and len(rows) * 8 < len(self.image_ids)
        vectors = self.vectors[rows] if gather else self.vectors
        dots = vectors @ query
        if self.metric == "l2":
            norms = self.squared_norms[rows] if gather else self.squared_norms
            squared = np.maximum(norms - 2.0 * dots + float(query @ query), 0.0)
            values = np.sqrt(squared, dtype=np.float32)
        else:
            values = -dots
        if rows is not None and not gather:
            values = values[rows]
        return np.asarray(values, dtype=np.float32)


def _low_keys(ids: NDArray[np.bytes_]) -> NDArray[np.uint64]:
    """The last 8 bytes of each 16-byte id as an unsigned integer."""
    as_bytes = np.frombuffer(np.ascontiguousarray(ids).tobytes(), dtype=np.uint8)
    return (
        np.ascontiguousarray(as_bytes.reshape(-1, 16)[:, 8:]).view(">u8").ravel().astype(np.uint64)
    )


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
        ]
    )


def parse_copy_binary(
    data: bytes, dimension: int
) -> tuple[NDArray[np.bytes_], NDArray[np.float32]]:
    """Image ids and vectors from ``COPY (SELECT image_id, embedding ...) TO STDOUT BINARY``."""
    body = memoryview(data)[_COPY_HEADER : len(data) - _COPY_TRAILER]
    rows = np.frombuffer(body, dtype=_row_dtype(dimension))
    if len(rows) and (
        not (rows["fields"] == 2).all()
        or not (rows["id_length"] == 16).all()
        or not (rows["dim"] == dimension).all()
    ):
        raise ValueError("unexpected COPY row layout")
    ids = np.ascontiguousarray(rows["image_id"]).view("S16")
    return ids, np.ascontiguousarray(rows["values"], dtype=np.float32)


class VectorCache:
    """Loaded spaces by (owner, space), least recently used evicted past the budget."""

    def __init__(self, budget_bytes: int, min_vectors: int) -> None:
        self.budget_bytes = budget_bytes
        self.min_vectors = min_vectors
        self._entries: OrderedDict[tuple[uuid.UUID, uuid.UUID], SpaceMatrix] = OrderedDict()
        self._loading: dict[tuple[uuid.UUID, uuid.UUID], asyncio.Lock] = {}
        self._skipped: dict[tuple[uuid.UUID, uuid.UUID], int] = {}

    def holds(self, owner_id: uuid.UUID, space_id: uuid.UUID) -> bool:
        """Whether the space is loaded (for reports; a query still checks the generation)."""
        return (owner_id, space_id) in self._entries

    @property
    def used_bytes(self) -> int:
        return sum(entry.nbytes for entry in self._entries.values())

    async def matrix(self, session: AsyncSession, space: SpaceRef) -> SpaceMatrix | None:
        """The space as a matrix, current as of this transaction; None if not cached.

        A space too small (or too large for the budget) is remembered as such for its
        generation, so it costs one primary-key read per query.
        """
        key = (space.owner_id, space.id)
        generation = await session.scalar(
            select(EmbeddingSpace.generation).where(
                EmbeddingSpace.owner_id == space.owner_id, EmbeddingSpace.id == space.id
            )
        )
        if generation is None:
            return None
        if self._skipped.get(key) == generation:
            return None
        entry = self._entries.get(key)
        if entry is not None and entry.generation == generation:
            self._entries.move_to_end(key)
            return entry
        lock = self._loading.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(key)
            if entry is None or entry.generation != generation:
                count = await session.scalar(
                    select(func.count()).where(
                        Embedding.owner_id == space.owner_id, Embedding.space_id == space.id
                    )
                )
                if (
                    not self.min_vectors
                    <= (count or 0)
                    <= self.budget_bytes // (4 * space.dimension)
                ):
                    self._entries.pop(key, None)
                    self._skipped[key] = generation
                    return None
                entry = await _load(session, space, generation)
                self._entries[key] = entry
            self._entries.move_to_end(key)
            self._evict()
            return entry

    def _evict(self) -> None:
        while len(self._entries) > 1 and self.used_bytes > self.budget_bytes:
            self._entries.popitem(last=False)


async def _load(session: AsyncSession, space: SpaceRef, generation: int) -> SpaceMatrix:
    """Read the space's vectors with one binary COPY on the session's own connection."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    buffer = bytearray()
    statement = (
        "COPY (SELECT image_id, embedding FROM embeddings "  # noqa: S608 - ids are UUIDs
        f"WHERE owner_id = '{space.owner_id}' AND space_id = '{space.id}') "
        "TO STDOUT (FORMAT binary)"
    )
    async with driver.cursor() as cursor, cursor.copy(statement) as copy:
        async for chunk in copy:
            buffer += chunk
    ids, vectors = parse_copy_binary(bytes(buffer), space.dimension)
    return SpaceMatrix.build(generation, space.metric, ids, vectors)
