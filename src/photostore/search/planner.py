"""The vector planner: exact in effect, an index scan only where it provably pays.

Per query it chooses between

* an **exact scan**: with a filter, the live candidate images drive it, each probing
  the B-tree primary key ``(owner_id, space_id, image_id)`` for its vector (a
  ``LATERAL`` subquery, so PostgreSQL cannot turn it into a walk of all of the owner's
  wide vector rows); without one, the primary key's ``(owner_id, space_id)`` prefix
  walks the space. The distance is computed for each row; exact by construction, and
  the plan of choice up to ``PlanLimits.exact_max_candidates`` candidates, and for a
  whole space up to ``PlanLimits.exact_max_walk`` vectors;
* an **index scan** of the space's own HNSW index (``db.search.indexes``): a window of the
  ``w`` approximately nearest vectors of the space, filtered by the candidates
  afterwards. With a fraction ``s`` of the space passing the filter, the window holds
  about ``w * s`` matches; ``w`` is chosen so that this is ``OVERSAMPLE * k``.

The index scan is used only when the space has a ready index and the window this needs
fits ``hnsw.ef_search``'s limit (1,000 in pgvector 0.8). Its answer is verified: when
the window held fewer than ``k`` matches (a filter far from the query, rows trashed
since the index statistics were taken), the exact scan answers instead, so a query never
returns fewer than ``k`` results when ``k`` images match. This module chooses; the
statements are ``db.search.nearest``'s.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from photostore.db.search.filters import Candidates
from photostore.db.search.nearest import Hits, NearestReads, SearchScope
from photostore.domain.embeddings import SpaceRef
from photostore.domain.search import Neighbor, TakenRange
from photostore.errors import InvalidInput, NotFound
from photostore.search.cache import CachedSpace, VectorCache
from photostore.search.vector_values import prepare_query, reported_distance

MAX_K = 1000


@dataclass(frozen=True)
class PlanLimits:
    """The thresholds of the planner; the defaults are the ones ``bench/search.py`` chose."""

    # Up to this many candidates an exact scan answers: at 512-d it costs about 5 us a
    # candidate (75 ms for 15,000 of a 150,000-vector space, recall 1.0), an index scan
    # at ef_search 1,000 50-90 ms for recall 0.82-0.86 (bench/search.py, no cache).
    exact_max_candidates: int = 20_000
    # Up to this many vectors a whole space (no filter) is walked exactly. HNSW cannot
    # give recall 0.99 on the benchmark's clustered photos at any setting pgvector 0.8
    # allows: a 150,000-vector space gave 0.87 at ef_search 1,000 with iterative scans
    # to a 4,000-row window, 0.98 on a halfvec index at 115 ms (bench/hnsw_types.py).
    # Recall comes first; a space this large is normally answered by the vector cache,
    # and this plan only while the cache loads it or when it is over the cache's budget.
    exact_max_walk: int = 250_000
    # Spaces up to this size are walked whole, without planning or listing.
    small_space: int = 4000
    # Matches wanted in the index window per result: slack for a filter unevenly spread
    # around the query, and for HNSW missing some of the window's tail.
    oversample: int = 4
    # pgvector caps hnsw.ef_search at 1,000: the largest window one index scan gives.
    max_window: int = 1000
    # hnsw.ef_search of every index scan, at least. On the benchmark's data the recall@10
    # of a 9,000-vector space was 0.66 at 100, 0.85 at 200, 0.95 at 400 and 0.995 at
    # 1,000 (docs/search.md): recall comes first, so the default is the maximum.
    min_ef_search: int = 1000


DEFAULT_LIMITS = PlanLimits()


@dataclass(frozen=True)
class Plan:
    """How a query will run: ``exact``, or ``index`` with its window and search width."""

    kind: Literal["exact", "index"]
    window: int = 0
    ef_search: int = 0


async def nearest(
    reads: NearestReads,
    space: SpaceRef,
    query: Sequence[float],
    k: int,
    candidates: Candidates | None = None,
    *,
    exclude_image_ids: Sequence[uuid.UUID] = (),
    limits: PlanLimits = DEFAULT_LIMITS,
    cache: VectorCache | None = None,
    taken: TakenRange | None = None,
) -> list[Neighbor]:
    """The ``k`` images of ``reads.owner_id`` nearest to ``query`` in ``space``, nearest
    first.

    ``candidates`` are the images the caller already filtered (always inside the owner);
    None means all of the owner's images. Trashed images and ``exclude_image_ids`` are
    never returned. ``reads`` works in a transaction opened with
    ``Database.for_user(owner_id)``, so row-level security fences every row read. With a
    ``cache``, the spaces it holds are scanned exactly in memory (``search.cache``);
    ``taken`` says the candidates are exactly the live images taken in that range (a
    date filter alone), which the cache then selects itself instead of listing them.
    """
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}")
    if space.owner_id != reads.owner_id:
        raise NotFound(f"no embedding space named {space.name!r}")
    vector = prepare_query(space, query)
    scope = SearchScope(space, candidates, tuple(exclude_image_ids))
    if cache is not None:
        cached = await cache.matrix(reads.vectors, space)
        if cached is not None:
            return await _cached_scan(reads, scope, cached, vector, k, taken)
    if space.vectors is not None and space.vectors <= limits.small_space:
        # A small space: one walk of its rows answers; planning would cost more. Its plan
        # (the primary key's owner and space prefix) is right for every small space,
        # so a generic plan is harmless here.
        return _neighbors(space, await reads.exact_scan(scope, vector, k, walk=True))
    await reads.plan_each_query()
    plan = await _plan(reads, scope, k, limits)
    if plan.kind == "index":
        found = await reads.index_scan(scope, vector, k, plan.window, plan.ef_search)
        # Fewer than k in the window (a filter far from the query, rows trashed since the
        # index statistics were taken): the exact scan answers instead.
        if len(found) >= k:
            return _neighbors(space, found)
    walk = scope.candidates is None
    return _neighbors(space, await reads.exact_scan(scope, vector, k, walk=walk))


async def choose_plan(
    reads: NearestReads,
    space: SpaceRef,
    k: int,
    candidates: Candidates | None = None,
    *,
    exclude_image_ids: Sequence[uuid.UUID] = (),
    limits: PlanLimits = DEFAULT_LIMITS,
) -> Plan:
    """The plan :func:`nearest` starts with for these arguments (tests, benchmarks)."""
    scope = SearchScope(space, candidates, tuple(exclude_image_ids))
    return await _plan(reads, scope, k, limits)


def _neighbors(space: SpaceRef, hits: Hits) -> list[Neighbor]:
    return [Neighbor(image_id, reported_distance(space.metric, raw)) for image_id, raw in hits]


# -- planning ------------------------------------------------------------------------------


async def _plan(reads: NearestReads, scope: SearchScope, k: int, limits: PlanLimits) -> Plan:
    index = await reads.ready_index(scope.space)
    usable = index is not None and index.vectors >= limits.exact_max_candidates
    vectors = index.vectors if index is not None else 0.0
    if scope.candidates is None:
        if not usable or vectors <= limits.exact_max_walk:
            return Plan("exact")
        return _index_plan(vectors, vectors, k, len(scope.exclude), limits)
    if not usable:
        return Plan("exact")
    # Below ``needed`` candidates the index window would outgrow max_window (and an
    # exact scan of so few rows is as fast anyway).
    needed = max(
        limits.exact_max_candidates,
        math.ceil(limits.oversample * k * vectors / limits.max_window),
    )
    if await reads.live_candidates_up_to(scope, needed) < needed:
        return Plan("exact")
    return _index_plan(vectors, float(needed), k, len(scope.exclude), limits)


def _index_plan(
    vectors: float, candidates: float, k: int, excluded: int, limits: PlanLimits
) -> Plan:
    """An index scan whose window should hold ``oversample * k`` candidates."""
    window = math.ceil(limits.oversample * k * vectors / candidates) + excluded
    if window > limits.max_window:
        return Plan("exact")
    return Plan("index", window, min(limits.max_window, max(window, limits.min_ef_search)))


# -- execution -----------------------------------------------------------------------------


async def _cached_scan(
    reads: NearestReads,
    scope: SearchScope,
    cached: CachedSpace,
    vector: list[float],
    k: int,
    taken: TakenRange | None,
) -> list[Neighbor]:
    """Exact k nearest from the in-memory matrix and its overlay of rows changed since it
    was loaded. Both hold live images only (``search.cache``): with no filter or a date
    range alone, no statement is needed; other filters are listed by the database."""
    listed = None
    if scope.candidates is not None and taken is None:
        listed = await reads.packed_candidates(scope)
    found = await cached.nearest(
        np.asarray(vector, dtype=np.float32),
        k,
        listed=listed,
        taken=None if scope.candidates is None else taken,
        skipped=_packed([image_id.bytes for image_id in scope.exclude]),
    )
    return _neighbors(scope.space, found)


def _packed(ids: Sequence[bytes]) -> NDArray[np.bytes_]:
    return np.array(ids, dtype="S16") if ids else np.empty(0, dtype="S16")
