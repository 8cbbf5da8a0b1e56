"""A space's vectors as one numpy matrix, and the kernels that scan it.

Rows are in ``taken_at`` order, so the images of a date range are one run of rows; an
image's row is found by a binary search of its id. Distances are pgvector's operator
values (``search.vector_values``), ties broken by id, so that an answer from the matrix is the
answer PostgreSQL gives. ``patched`` folds changed rows into a matrix without reading the
space again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from photostore.db.search.packed import uuid_of
from photostore.domain.embeddings import Metric
from photostore.domain.search import TakenRange


@dataclass(frozen=True)
class SpaceMatrix:
    """The vectors of one space in ``taken_at`` order, row ``i`` belonging to ``image_ids[i]``.

    Ordered by date, the images of a date range are one run of rows, found by a binary
    search and scanned in place.
    """

    generation: int
    metric: Metric
    image_ids: NDArray[np.bytes_]  # the 16 bytes of each row's image id ("S16")
    vectors: NDArray[np.float32]
    squared_norms: NDArray[np.float32]
    taken_at: NDArray[np.int64]  # PostgreSQL's microseconds since 2000-01-01 UTC, ascending
    sorted_ids: NDArray[np.bytes_]
    sorted_rows: NDArray[np.intp]
    # The low 64 bits of each id (random in UUIDv4 and v7), sorted, when they are unique
    # in this space: 64-bit keys are searched several times faster than 16-byte strings.
    sorted_keys: NDArray[np.uint64] | None

    @classmethod
    def build(
        cls,
        generation: int,
        metric: Metric,
        ids: NDArray[np.bytes_],
        vectors: NDArray[np.float32],
        taken_at: NDArray[np.int64],
        squared_norms: NDArray[np.float32] | None = None,
    ) -> SpaceMatrix:
        """The matrix of these rows; they are put in date order unless they are in it.

        Each new copy of a large space's vectors costs more in first-touched memory than
        in copying (measured: 0.3-2 s for 230 MB on this machine), so rows already in
        order are taken as they are.
        """
        if len(taken_at) > 1 and not bool((np.diff(taken_at) >= 0).all()):
            by_date = np.argsort(taken_at, kind="stable")
            ids, vectors, taken_at = ids[by_date], vectors[by_date], taken_at[by_date]
            squared_norms = None if squared_norms is None else squared_norms[by_date]
        if squared_norms is None:
            squared_norms = np.einsum("ij,ij->i", vectors, vectors).astype(np.float32)
        keys = _low_keys(ids)
        key_order = np.argsort(keys, kind="stable")
        unique = len(keys) == 0 or bool((np.diff(keys[key_order]) != 0).all())
        order = key_order if unique else np.argsort(ids, kind="stable")
        return cls(
            generation=generation,
            metric=metric,
            image_ids=ids,
            vectors=vectors,
            squared_norms=squared_norms,
            taken_at=taken_at,
            sorted_ids=ids[order],
            sorted_rows=order,
            sorted_keys=keys[key_order] if unique else None,
        )

    @property
    def nbytes(self) -> int:
        return int(
            self.vectors.nbytes
            + self.squared_norms.nbytes
            + 2 * self.image_ids.nbytes
            + self.taken_at.nbytes
            + self.sorted_rows.nbytes
        )

    def rows_taken(self, taken: TakenRange) -> NDArray[np.intp]:
        """The rows of images taken in ``taken`` (after inclusive, before exclusive)."""
        return np.arange(*self._taken_run(taken), dtype=np.intp)

    def _taken_run(self, taken: TakenRange) -> tuple[int, int]:
        low = 0 if taken.after is None else np.searchsorted(self.taken_at, pg_micros(taken.after))
        high = (
            len(self.taken_at)
            if taken.before is None
            else np.searchsorted(self.taken_at, pg_micros(taken.before))
        )
        return int(low), max(int(low), int(high))

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
        """The ``k`` nearest of ``rows`` (None: all rows) but ``skip``, as (id, raw value)."""
        raw = self.raw_distances(query, rows)
        candidates = np.arange(len(self.image_ids)) if rows is None else rows
        if len(skip):
            raw[skip if rows is None else np.isin(rows, skip)] = np.inf
        count = min(k, int(np.isfinite(raw).sum()))
        if count == 0:
            return []
        best = np.argpartition(raw, count - 1)[:count] if count < len(raw) else np.arange(len(raw))
        # Ties by id: a UUID orders as its 16 bytes do, as PostgreSQL orders them.
        ordered = sorted((float(raw[i]), uuid_of(self.image_ids[candidates[i]])) for i in best)
        return [(image_id, value) for value, image_id in ordered[:count]]

    def raw_distances(
        self, query: NDArray[np.float32], rows: NDArray[np.intp] | None
    ) -> NDArray[np.float32]:
        """pgvector's operator values (``<#>`` or ``<->``) from ``query`` to ``rows``."""
        dots = self.vectors @ query if rows is None else self._dots(query, rows)
        if self.metric == "l2":
            norms = self.squared_norms if rows is None else self.squared_norms[rows]
            squared = np.maximum(norms - 2.0 * dots + float(query @ query), 0.0)
            return np.sqrt(squared, dtype=np.float32)
        return np.asarray(-dots, dtype=np.float32)

    def scan_floats(self, listed: NDArray[np.bytes_] | None, taken: TakenRange | None) -> int:
        """About how many floats a scan of the ``listed`` images (else of those taken in
        ``taken``, else of all) reads. Listed images are costed as gathered rows, the
        dearer way, which also pays for looking them up."""
        dimension = int(self.vectors.shape[1])
        if listed is not None:
            return min(len(listed), len(self.image_ids)) * _GATHER_COST * dimension
        if taken is None:
            return int(self.vectors.size)
        low, high = self._taken_run(taken)
        return (high - low) * dimension

    def _dots(self, query: NDArray[np.float32], rows: NDArray[np.intp]) -> NDArray[np.float32]:
        """``vectors[rows] @ query``, by whichever of two ways reads less memory.

        A sequential pass runs at memory bandwidth; gathering scattered rows costs several
        times more per row (measured: 0.07 against 0.25-0.37 us per 2 KiB row). Rows close
        together (a date range over photos loaded in time order) are scanned in place with
        the rows between them; scattered ones are gathered in chunks that stay in cache.
        """
        if len(rows) == 0:
            return np.empty(0, dtype=np.float32)
        low, high = int(rows.min()), int(rows.max()) + 1
        if high - low <= _GATHER_COST * len(rows):
            return np.asarray((self.vectors[low:high] @ query)[rows - low], dtype=np.float32)
        dots = np.empty(len(rows), dtype=np.float32)
        chunk = np.empty((min(_GATHER_CHUNK, len(rows)), self.vectors.shape[1]), np.float32)
        for start in range(0, len(rows), _GATHER_CHUNK):
            part = rows[start : start + _GATHER_CHUNK]
            gathered = chunk[: len(part)]
            np.take(self.vectors, part, axis=0, out=gathered)
            np.matmul(gathered, query, out=dots[start : start + len(part)])
        return dots


# A gathered row costs about this many rows of a sequential pass (see SpaceMatrix._dots).
_GATHER_COST = 4
_GATHER_CHUNK = 128


def _low_keys(ids: NDArray[np.bytes_]) -> NDArray[np.uint64]:
    """The last 8 bytes of each 16-byte id as an unsigned integer."""
    as_bytes = np.frombuffer(np.ascontiguousarray(ids).tobytes(), dtype=np.uint8)
    return (
        np.ascontiguousarray(as_bytes.reshape(-1, 16)[:, 8:]).view(">u8").ravel().astype(np.uint64)
    )


def pg_micros(moment: datetime) -> int:
    """A moment as PostgreSQL stores ``timestamptz``: microseconds since 2000-01-01 UTC."""
    return (moment - _PG_EPOCH) // timedelta(microseconds=1)


_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def patched(
    held: SpaceMatrix, changed: NDArray[np.bytes_], current: SpaceMatrix | None, generation: int
) -> SpaceMatrix:
    """``held`` with the ``changed`` images' rows replaced by their ``current`` rows (None:
    all of them gone): the space at ``generation``, without reading it again.

    The current rows (few, in date order) are placed among the kept rows by binary
    search, so the vectors are gathered once, into the one new large array.
    """
    keep = np.ones(len(held.image_ids), dtype=bool)
    keep[held.rows_of(changed)] = False
    kept = np.flatnonzero(keep)
    added = current
    if added is not None and len(kept) == 0:
        return replace(added, generation=generation)
    count = 0 if added is None else len(added.image_ids)
    # Final position of each current row: after the kept rows taken no later than it.
    placed = (
        np.searchsorted(held.taken_at[kept], added.taken_at, side="right") + np.arange(count)
        if added is not None
        else np.empty(0, dtype=np.intp)
    )
    from_held = np.ones(len(kept) + count, dtype=bool)
    from_held[placed] = False
    rows = np.zeros(len(from_held), dtype=np.intp)
    rows[from_held] = kept
    ids, taken_at = held.image_ids[rows], held.taken_at[rows]
    vectors, norms = np.take(held.vectors, rows, axis=0), held.squared_norms[rows]
    if added is not None:
        ids[placed], taken_at[placed] = added.image_ids, added.taken_at
        vectors[placed], norms[placed] = added.vectors, added.squared_norms
    return SpaceMatrix.build(generation, held.metric, ids, vectors, taken_at, norms)
