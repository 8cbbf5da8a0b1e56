"""An in-process, exact vector index: a user's space as one numpy matrix.

PostgreSQL reads a vector per heap tuple; a numpy matrix in memory is scanned at memory
bandwidth, which is the floor ``bench/search.py`` measures. Spaces with at least
``min_vectors`` vectors are held, least recently used first out, within ``budget_bytes``.

Loading never holds a query up. A query that finds its space absent is answered by
PostgreSQL (``search.vector``'s planner) and schedules a load in the background: at most
two at a time, one per space. A space whose matrix the change log still answers for is
brought up to date at most once per ``refresh_seconds``, by folding the overlay (below)
into the matrix in a worker thread, without reading the space again; one the log cannot
answer for (a bulk write) is read again at once. A read is one binary ``COPY`` in a
transaction of the space's owner, so row-level security fences it like any query.

Correctness: every query brings the space's ``generation`` (bumped by a trigger on every
change of its vectors, image purges included), read in the caller's transaction. A
matrix loaded at that generation answers alone; one a few generations behind answers
with an overlay: the images changed since, read from ``embedding_changes`` in the
caller's transaction, left out of the matrix, and their current rows read into a small
matrix of their own (kept for the next queries at that generation). A load reads the
generation before the vectors, so a matrix is never older than the generation it is
filed under. A matrix holds live images only: trashing or restoring a photo moves the
generation and is logged like a changed vector (a trigger on ``images``), so liveness
needs no statement of its own. The caller's filters are asked of the database, but for a
date range alone: each row's ``taken_at`` is loaded with its vector and a changed date
moves the generation too (the same trigger).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, LargeBinary, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import SQLCoreOperations

from photostore.db.models import LOGGED_GENERATIONS, EmbeddingChange, EmbeddingSpace
from photostore.db.session import Database, driver_connection
from photostore.search.filters import TakenRange
from photostore.search.space import Metric, SpaceRef

log = logging.getLogger(__name__)

# COPY BINARY: an 11-byte signature, 4 bytes of flags, 4 of header extension; each row a
# 16-bit field count then per field a 32-bit length and the bytes; a 16-bit -1 trailer.
_COPY_HEADER = 19
_COPY_TRAILER = 2


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
        low = 0 if taken.after is None else np.searchsorted(self.taken_at, _micros(taken.after))
        high = (
            len(self.taken_at)
            if taken.before is None
            else np.searchsorted(self.taken_at, _micros(taken.before))
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
        ordered = sorted(
            ((float(raw[i]), bytes(self.image_ids[candidates[i]]).ljust(16, b"\0")) for i in best),
        )
        return [(uuid.UUID(bytes=image_id), value) for value, image_id in ordered[:count]]

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
# A scan reading more floats than this (32 MiB, about a millisecond here) runs in a worker
# thread. numpy releases the GIL in the matrix product, so the process's other requests go
# on meanwhile: with another user's 150,000-vector searches running back to back, a
# 3,000-vector user's searches took 19.9 ms at p50 with the scans on the event loop and
# 7.5 ms with them in a thread (2.4 ms alone). A shorter scan costs less than the hop.
OFFLOAD_FLOATS = 8 * 1024 * 1024


def _low_keys(ids: NDArray[np.bytes_]) -> NDArray[np.uint64]:
    """The last 8 bytes of each 16-byte id as an unsigned integer."""
    as_bytes = np.frombuffer(np.ascontiguousarray(ids).tobytes(), dtype=np.uint8)
    return (
        np.ascontiguousarray(as_bytes.reshape(-1, 16)[:, 8:]).view(">u8").ravel().astype(np.uint64)
    )


def _micros(moment: datetime) -> int:
    """A moment as PostgreSQL stores ``timestamptz``: microseconds since 2000-01-01 UTC."""
    return (moment - _PG_EPOCH) // timedelta(microseconds=1)


_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


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
    """Image ids, vectors and dates from ``COPY (SELECT image_id, embedding, taken_at ...)
    TO STDOUT (FORMAT binary)``."""
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


_SpaceKey = tuple[uuid.UUID, uuid.UUID]
MAX_CONCURRENT_LOADS = 2
# Past this many changed images, PostgreSQL's plans answer until the reload.
MAX_CHANGED = 2000
# Evictions are logged at most this often: one line says the budget is too small.
EVICTION_WARNING_SECONDS = 600.0
_NO_IDS: NDArray[np.bytes_] = np.empty(0, dtype="S16")


@dataclass(frozen=True)
class CachedSpace:
    """A held matrix, the images (16-byte ids) whose rows in it are out of date, and the
    current rows of those images (the overlay; None when none changed)."""

    matrix: SpaceMatrix
    changed: NDArray[np.bytes_]
    overlay: SpaceMatrix | None = None

    async def nearest(
        self,
        query: NDArray[np.float32],
        k: int,
        *,
        listed: NDArray[np.bytes_] | None = None,
        taken: TakenRange | None = None,
        skipped: NDArray[np.bytes_] = _NO_IDS,
    ) -> list[tuple[uuid.UUID, float]]:
        """The ``k`` nearest images, as (id, pgvector operator value), nearest first, ties
        by id: of the ``listed`` ones (16-byte ids) if given, else of those taken in
        ``taken`` if given, else of all; never the ``skipped`` ones.

        The matrix's rows of the changed images are left out; the overlay holds their
        current rows. A long scan runs in a worker thread (``OFFLOAD_FLOATS``).
        """
        held = [m for m in (self.matrix, self.overlay) if m is not None and len(m.image_ids)]

        def scan() -> list[tuple[uuid.UUID, float]]:
            # The changed images' rows of the matrix are out of date: the overlay has them.
            stale = self.matrix.rows_of(self.changed)
            found: list[tuple[uuid.UUID, float]] = []
            for matrix in held:
                rows: NDArray[np.intp] | None = None
                if listed is not None:
                    rows = matrix.rows_of(listed)
                elif taken is not None:
                    rows = matrix.rows_taken(taken)
                skip = matrix.rows_of(skipped)
                if matrix is self.matrix and len(stale):
                    skip = np.concatenate([skip, stale])
                found += matrix.nearest_rows(query, k, rows, skip)
            found.sort(key=lambda hit: (hit[1], hit[0].bytes))
            return found[:k]

        if sum(m.scan_floats(listed, taken) for m in held) > OFFLOAD_FLOATS:
            return await asyncio.to_thread(scan)
        return scan()


@dataclass(frozen=True)
class _Overlay:
    """The changed rows of a matrix loaded at ``base``, current at ``generation``."""

    base: int
    generation: int
    changed: NDArray[np.bytes_]
    rows: SpaceMatrix | None


class VectorCache:
    """Loaded spaces by (owner, space), least recently used evicted past the budget."""

    def __init__(
        self,
        db: Database,
        budget_bytes: int,
        min_vectors: int,
        refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget_bytes = budget_bytes
        self.min_vectors = min_vectors
        self.refresh_seconds = refresh_seconds
        self._db = db
        self._clock = clock
        self._entries: OrderedDict[_SpaceKey, SpaceMatrix] = OrderedDict()
        self._loads: dict[_SpaceKey, asyncio.Task[None]] = {}
        self._load_started: dict[_SpaceKey, float] = {}
        self._overlays: dict[_SpaceKey, _Overlay] = {}
        self._over_budget: set[_SpaceKey] = set()
        self._evicted_warned_at: float | None = None

    def holds(self, owner_id: uuid.UUID, space_id: uuid.UUID) -> bool:
        """Whether the space is loaded (for reports; a query still checks the generation)."""
        return (owner_id, space_id) in self._entries

    @property
    def busy(self) -> bool:
        """Whether a load is under way."""
        return bool(self._loads)

    @property
    def used_bytes(self) -> int:
        return sum(entry.nbytes for entry in self._entries.values())

    def qualifies(self, space: SpaceRef, vectors: int) -> bool:
        """Whether a space of ``vectors`` vectors is one this cache holds."""
        return self.min_vectors <= vectors <= self.budget_bytes // (4 * space.dimension)

    async def matrix(self, session: AsyncSession, space: SpaceRef) -> CachedSpace | None:
        """The space as a matrix, with the images changed since it was loaded and their
        current rows; None if not held, or too much changed since.

        The changed images (``embedding_changes``, kept by triggers) and their rows are
        read in the caller's transaction; the caller leaves their rows of the matrix out
        and searches the overlay beside it. None, and a matrix behind the space,
        schedule a background load.
        """
        generation, vectors = space.generation, space.vectors
        if generation is None or vectors is None:
            row = (
                await session.execute(
                    select(EmbeddingSpace.generation, EmbeddingSpace.vector_count).where(
                        EmbeddingSpace.owner_id == space.owner_id, EmbeddingSpace.id == space.id
                    )
                )
            ).first()
            if row is None:
                return None
            generation, vectors = row
        key = (space.owner_id, space.id)
        if not self.qualifies(space, vectors):
            self._entries.pop(key, None)
            if vectors >= self.min_vectors:
                self._warn_over_budget(key, space, vectors)
            return None
        entry = self._entries.get(key)
        if entry is not None and entry.generation == generation:
            self._entries.move_to_end(key)
            return CachedSpace(entry, _NO_IDS)
        if entry is not None and entry.generation > generation:
            return None  # loaded after the caller's snapshot was taken: too new for it
        return await self._behind(session, key, space, entry, generation)

    def _warn_over_budget(self, key: _SpaceKey, space: SpaceRef, vectors: int) -> None:
        """Say once per space and process that the space is searched by PostgreSQL's
        plans: exactly in small steps, approximately through its HNSW index past them."""
        if key in self._over_budget:
            return
        self._over_budget.add(key)
        log.warning(
            "embedding space %s holds %d vectors (%d MiB as a matrix), more than the "
            "vector cache's budget of %d MiB (PHOTOSTORE_VECTOR_CACHE_MB): its searches "
            "are answered by PostgreSQL, approximately where its HNSW index answers; "
            "raise the budget to search it exactly in memory",
            space.id,
            vectors,
            vectors * 4 * space.dimension // 2**20,
            self.budget_bytes // 2**20,
        )

    async def _behind(
        self,
        session: AsyncSession,
        key: _SpaceKey,
        space: SpaceRef,
        entry: SpaceMatrix | None,
        generation: int,
    ) -> CachedSpace | None:
        """A matrix behind the space with the rows changed since, or None (a load is
        then under way or due)."""
        memo = self._overlays.get(key)
        if (
            entry is not None
            and memo is not None
            and (memo.base, memo.generation) == (entry.generation, generation)
        ):
            changed, rows = memo.changed, memo.rows
        else:
            # A matrix older than the log reaches back cannot answer; otherwise the log
            # says which of its rows are out of date.
            log = (
                await _changed_since(session, space, entry.generation)
                if entry is not None and 0 < generation - entry.generation < LOGGED_GENERATIONS
                else None
            )
            if entry is None or log is None:
                # The planner answers until the reload, which starts at once.
                self._schedule_load(key, space, urgent=True)
                return None
            changed, committed = log
            rows = (
                _build(await _copy_vectors(session, space, only=changed), space, generation)
                if len(changed)
                else None
            )
            # An overlay read by a transaction that wrote nothing holds committed rows
            # only, so the next queries at this generation can share it, and an update
            # can fold it into the matrix.
            if committed:
                self._overlays[key] = _Overlay(entry.generation, generation, changed, rows)
        # While the log answers, an update only makes the overlay smaller: it waits its
        # interval.
        self._schedule_load(key, space, urgent=False)
        self._entries.move_to_end(key)
        return CachedSpace(entry, changed, rows)

    async def settled(self) -> None:
        """Wait for the loads under way (tests, benchmarks, shutdown)."""
        while self._loads:
            await asyncio.gather(*self._loads.values(), return_exceptions=True)
            self._forget_finished_loads()

    async def close(self) -> None:
        """Stop the loads under way and drop every matrix."""
        for task in self._loads.values():
            task.cancel()
        await self.settled()
        self._entries.clear()

    def _schedule_load(self, key: _SpaceKey, space: SpaceRef, *, urgent: bool) -> None:
        # Each load holds a space's rows several times over while it parses them, and
        # competes with the queries for the cores: few at once; a space turned away is
        # asked for again by its next query.
        if key in self._loads or len(self._loads) >= MAX_CONCURRENT_LOADS:
            return
        now = self._clock()
        started = self._load_started.get(key)
        if not urgent and started is not None and now - started < self.refresh_seconds:
            return
        # Forget spaces whose last load is old enough not to hold the next one back.
        for stale in [k for k, t in self._load_started.items() if now - t >= self.refresh_seconds]:
            del self._load_started[stale]
        self._load_started[key] = now
        task = asyncio.get_running_loop().create_task(self._load(key, space))
        self._loads[key] = task
        task.add_done_callback(lambda _: self._forget_finished_loads())

    def _forget_finished_loads(self) -> None:
        for key in [key for key, task in self._loads.items() if task.done()]:
            del self._loads[key]

    async def _load(self, key: _SpaceKey, space: SpaceRef) -> None:
        held, overlay = self._entries.get(key), self._overlays.get(key)
        entry: SpaceMatrix | None
        try:
            if held is not None and overlay is not None and overlay.base == held.generation:
                # The matrix and an overlay of committed rows make the space as it was at
                # the overlay's generation: no need to read every vector again.
                entry = await asyncio.to_thread(_patched, held, overlay)
            else:
                entry = await self._read(key, space)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("loading the vectors of space %s failed", space.id, exc_info=True)
            return
        if entry is None:
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        self._overlays.pop(key, None)
        evicted = 0
        while len(self._entries) > 1 and self.used_bytes > self.budget_bytes:
            gone, _ = self._entries.popitem(last=False)
            self._overlays.pop(gone, None)
            evicted += 1
        if evicted:
            self._warn_evicted(evicted)

    def _warn_evicted(self, evicted: int) -> None:
        """Say, at most every ``EVICTION_WARNING_SECONDS``, that spaces in use outgrow
        the budget: an evicted space is searched by PostgreSQL until it loads again."""
        now = self._clock()
        if self._evicted_warned_at is not None and (
            now - self._evicted_warned_at < EVICTION_WARNING_SECONDS
        ):
            return
        self._evicted_warned_at = now
        log.warning(
            "the vector cache evicted %d embedding space(s) to make room (%d spaces, %d MiB "
            "held, budget %d MiB): their searches are answered by PostgreSQL until they "
            "load again, approximately where an HNSW index answers; if this repeats, the "
            "spaces in use need a larger PHOTOSTORE_VECTOR_CACHE_MB",
            evicted,
            len(self._entries),
            self.used_bytes // 2**20,
            self.budget_bytes // 2**20,
        )

    async def _read(self, key: _SpaceKey, space: SpaceRef) -> SpaceMatrix | None:
        """The space read whole from the database; None if it was dropped meanwhile."""
        async with self._db.for_user(space.owner_id) as session:
            generation = await session.scalar(
                select(EmbeddingSpace.generation).where(
                    EmbeddingSpace.owner_id == space.owner_id, EmbeddingSpace.id == space.id
                )
            )
            if generation is None:  # the space was dropped meanwhile
                self._entries.pop(key, None)
                return None
            data = await _copy_vectors(session, space)
        # Parsing and sorting a large space takes a while: off the event loop.
        return await asyncio.to_thread(_build, data, space, generation)


async def _changed_since(
    session: AsyncSession, space: SpaceRef, generation: int
) -> tuple[NDArray[np.bytes_], bool] | None:
    """The images changed in ``space`` after ``generation``, and whether the caller's
    transaction has written nothing yet; None when the log cannot tell (more changed
    than was logged, or its older rows are gone)."""
    # The space's generation is read again in the same statement, hence the same
    # snapshot as the log: rows a concurrent write pruned cannot go missing unseen.
    since = (
        EmbeddingChange.owner_id == space.owner_id,
        EmbeddingChange.space_id == space.id,
        EmbeddingChange.generation > generation,
    )
    image_ids = func.unnest(EmbeddingChange.image_ids).table_valued("id").render_derived()
    logged = (
        select(packed_uuids(image_ids.c.id))
        .select_from(EmbeddingChange)
        .join(image_ids, true())  # each row's own array: a function in FROM is lateral
        .where(*since)
        .scalar_subquery()
    )
    # A NULL array: more changed than was logged.
    overflowed = select(func.bool_or(EmbeddingChange.image_ids.is_(None))).where(*since)
    row = (
        await session.execute(
            select(
                EmbeddingSpace.generation,
                logged,
                func.txid_current_if_assigned().is_(None),
                overflowed.scalar_subquery(),
            ).where(EmbeddingSpace.owner_id == space.owner_id, EmbeddingSpace.id == space.id)
        )
    ).first()
    if row is None or row[0] - generation >= LOGGED_GENERATIONS:
        return None
    if row[3]:
        return None
    changed = np.unique(np.frombuffer(row[1] or b"", dtype="S16"))
    if len(changed) > MAX_CHANGED:
        return None
    return changed, bool(row[2])


async def _copy_vectors(
    session: AsyncSession, space: SpaceRef, only: NDArray[np.bytes_] | None = None
) -> bytearray:
    """The space's rows of live images (``only`` those images' when given, as 16-byte
    ids) as ``COPY ... (FORMAT binary)`` on the session's own connection."""
    driver = driver_connection(session)
    buffer = bytearray()
    # COPY takes no parameters; every value below is a UUID made here, not a string given.
    listed = ""
    if only is not None:
        ids = ",".join(f"'{_uuid_of(raw)}'" for raw in only)
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


def packed_uuids(column: SQLCoreOperations[uuid.UUID]) -> ColumnElement[bytes]:
    """An aggregate of ``column`` as one ``bytea`` of 16-byte ids, in no order: numpy
    reads it as an ``S16`` array without one Python object per row."""
    return func.string_agg(func.uuid_send(column), literal(b"", LargeBinary))


def _uuid_of(raw: bytes) -> uuid.UUID:
    """An id of an ``S16`` array (numpy drops its trailing zero bytes) as a UUID."""
    return uuid.UUID(bytes=bytes(raw).ljust(16, b"\0"))


def _build(data: bytearray, space: SpaceRef, generation: int) -> SpaceMatrix:
    ids, vectors, taken_at = parse_copy_binary(data, space.dimension)
    return SpaceMatrix.build(generation, space.metric, ids, vectors, taken_at)


def _patched(held: SpaceMatrix, overlay: _Overlay) -> SpaceMatrix:
    """``held`` with the overlay's changed images replaced by their current rows: the
    space at the overlay's generation, without reading it again.

    The overlay's rows (few, in date order) are placed among the kept rows by binary
    search, so the vectors are gathered once, into the one new large array.
    """
    keep = np.ones(len(held.image_ids), dtype=bool)
    keep[held.rows_of(overlay.changed)] = False
    kept = np.flatnonzero(keep)
    added = overlay.rows
    if added is not None and len(kept) == 0:
        return replace(added, generation=overlay.generation)
    count = 0 if added is None else len(added.image_ids)
    # Final position of each overlay row: after the kept rows taken no later than it.
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
    return SpaceMatrix.build(overlay.generation, held.metric, ids, vectors, taken_at, norms)
