"""An in-process, exact vector index: a user's space as one numpy matrix.

This module is the policy: which spaces are held, when they load, which leave the
budget. The matrix and its kernels are ``search.matrix``, the change-log protocol that
keeps a matrix exact ``search.changes``; a space (one binary ``COPY``) and its change log
are read through ``db.search.reads.VectorReads``.

PostgreSQL reads a vector per heap tuple; a numpy matrix in memory is scanned at memory
bandwidth, which is the floor ``bench/search.py`` measures. Spaces with at least
``min_vectors`` vectors are held, least recently used first out, within ``budget_bytes``.

Loading never holds a query up. A query that finds its space absent is answered by
PostgreSQL (the planner, ``search.planner``) and schedules a load in the background: at most
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
from dataclasses import dataclass

import anyio
import numpy as np
from numpy.typing import NDArray

from photostore.db.models import LOGGED_GENERATIONS
from photostore.db.search.reads import VectorReads, parse_copy_binary
from photostore.db.session import Database
from photostore.domain.embeddings import SpaceRef
from photostore.domain.search import TakenRange
from photostore.search.changes import Overlay, changed_since
from photostore.search.matrix import SpaceMatrix, patched

log = logging.getLogger(__name__)

# A scan reading more floats than this (32 MiB, about a millisecond here) runs in a worker
# thread. numpy releases the GIL in the matrix product, so the process's other requests go
# on meanwhile: with another user's 150,000-vector searches running back to back, a
# 3,000-vector user's searches took 19.9 ms at p50 with the scans on the event loop and
# 7.5 ms with them in a thread (2.4 ms alone). A shorter scan costs less than the hop.
OFFLOAD_FLOATS = 8 * 1024 * 1024


_SpaceKey = tuple[uuid.UUID, uuid.UUID]
MAX_CONCURRENT_LOADS = 2
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
            return await anyio.to_thread.run_sync(scan)
        return scan()


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
        self.db = db
        """The database spaces are read from, in a transaction of their owner."""
        self.clock = clock
        """Seconds, for the refresh interval and the eviction warnings."""
        self._entries: OrderedDict[_SpaceKey, SpaceMatrix] = OrderedDict()
        self._loads: dict[_SpaceKey, asyncio.Task[None]] = {}
        self._load_started: dict[_SpaceKey, float] = {}
        self._overlays: dict[_SpaceKey, Overlay] = {}
        self._over_budget: set[_SpaceKey] = set()
        self._evicted_warned_at: float | None = None

    def holds(self, owner_id: uuid.UUID, space_id: uuid.UUID) -> bool:
        """Whether the space is loaded (for reports; a query still checks the generation)."""
        return (owner_id, space_id) in self._entries

    def held(self, owner_id: uuid.UUID, space_id: uuid.UUID) -> SpaceMatrix | None:
        """The matrix held for the space, whatever its generation (for reports and tests:
        a query goes through :meth:`matrix`)."""
        return self._entries.get((owner_id, space_id))

    @property
    def loads_under_way(self) -> int:
        """How many spaces are being loaded now."""
        return len(self._loads)

    @property
    def used_bytes(self) -> int:
        return sum(entry.nbytes for entry in self._entries.values())

    def qualifies(self, space: SpaceRef, vectors: int) -> bool:
        """Whether a space of ``vectors`` vectors is one this cache holds."""
        return self.min_vectors <= vectors <= self.budget_bytes // (4 * space.dimension)

    async def matrix(self, reads: VectorReads, space: SpaceRef) -> CachedSpace | None:
        """The space as a matrix, with the images changed since it was loaded and their
        current rows; None if not held, or too much changed since.

        The changed images (``embedding_changes``, kept by triggers) and their rows are
        read in the caller's transaction; the caller leaves their rows of the matrix out
        and searches the overlay beside it. None, and a matrix behind the space,
        schedule a background load.
        """
        generation, vectors = space.generation, space.vectors
        if generation is None or vectors is None:
            state = await reads.state(space)
            if state is None:
                return None
            generation, vectors = state.generation, state.vectors
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
        return await self._behind(reads, key, space, entry, generation)

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
        reads: VectorReads,
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
                await changed_since(reads, space, entry.generation)
                if entry is not None and 0 < generation - entry.generation < LOGGED_GENERATIONS
                else None
            )
            if entry is None or log is None:
                # The planner answers until the reload, which starts at once.
                self._schedule_load(key, space, urgent=True)
                return None
            changed = log.image_ids
            rows = (
                matrix_of_copy(await reads.copy(space, only=changed), space, generation)
                if len(changed)
                else None
            )
            # An overlay read by a transaction that wrote nothing holds committed rows
            # only, so the next queries at this generation can share it, and an update
            # can fold it into the matrix.
            if log.committed:
                self._overlays[key] = Overlay(entry.generation, generation, changed, rows)
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
        now = self.clock()
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
                entry = await anyio.to_thread.run_sync(
                    patched, held, overlay.changed, overlay.rows, overlay.generation
                )
            else:
                entry = await self.read_space(space)
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
        now = self.clock()
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

    async def read_space(self, space: SpaceRef) -> SpaceMatrix | None:
        """The space read whole from the database (not kept); None if it was dropped."""
        async with self.db.for_user(space.owner_id) as session:
            reads = VectorReads(session)
            generation = await reads.generation(space)
            if generation is None:  # the space was dropped meanwhile
                self._entries.pop((space.owner_id, space.id), None)
                return None
            data = await reads.copy(space)
        # Parsing and sorting a large space takes a while: off the event loop.
        return await anyio.to_thread.run_sync(matrix_of_copy, data, space, generation)


def matrix_of_copy(data: bytearray, space: SpaceRef, generation: int) -> SpaceMatrix:
    """The matrix of a space's rows as ``VectorReads.copy`` read them, filed under
    ``generation``."""
    ids, vectors, taken_at = parse_copy_binary(data, space.dimension)
    return SpaceMatrix.build(generation, space.metric, ids, vectors, taken_at)
