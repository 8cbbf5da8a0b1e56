"""The vector planner: exact in effect, an index scan only where it provably pays.

Per query it chooses between

* an **exact scan**: with a filter, the live candidate images drive it, each probing
  the B-tree primary key ``(owner_id, space_id, image_id)`` for its vector (a
  ``LATERAL`` subquery, so PostgreSQL cannot turn it into a walk of all of the owner's
  wide vector rows); without one, the primary key's ``(owner_id, space_id)`` prefix
  walks the space. The distance is computed for each row; exact by construction, and
  the plan of choice up to ``PlanLimits.exact_max_candidates`` candidates, and for a
  whole space up to ``PlanLimits.exact_max_walk`` vectors;
* an **index scan** of the space's own HNSW index (``search.indexes``): a window of the
  ``w`` approximately nearest vectors of the space, filtered by the candidates
  afterwards. With a fraction ``s`` of the space passing the filter, the window holds
  about ``w * s`` matches; ``w`` is chosen so that this is ``OVERSAMPLE * k``.

The index scan is used only when the space has a ready index and the window this needs
fits ``hnsw.ef_search``'s limit (1,000 in pgvector 0.8). Its answer is verified: when
the window held fewer than ``k`` matches (a filter far from the query, rows trashed
since the index statistics were taken), the exact scan answers instead, so a query never
returns fewer than ``k`` results when ``k`` images match.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import SQLCoreOperations

from photostore.db.models import Embedding, Image
from photostore.errors import InvalidInput, NotFound
from photostore.search.binary import packed_uuids
from photostore.search.cache import CachedSpace, VectorCache
from photostore.search.filters import TakenRange
from photostore.search.indexes import ready_index
from photostore.search.space import SpaceRef
from photostore.search.vector_values import OPERATOR, prepare_query, reported_distance

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

_SET_EF_SEARCH = text("SELECT set_config('hnsw.ef_search', :ef, true)")
# psycopg prepares a statement after five runs, and PostgreSQL may then reuse one generic
# plan for every user and filter. Tenants differ by orders of magnitude in size, so a
# plan fit for one is ruinous for another (measured: 72 ms instead of 4.5 ms for 38
# candidates of a 37,500-vector user). Plan each search for its own parameters.
_CUSTOM_PLANS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")


@dataclass(frozen=True)
class Neighbor:
    """An image and its distance to the query (smaller is nearer; see ``search.vector_values``)."""

    image_id: uuid.UUID
    distance: float


@dataclass(frozen=True)
class Plan:
    """How a query will run: ``exact``, or ``index`` with its window and search width."""

    kind: Literal["exact", "index"]
    window: int = 0
    ef_search: int = 0


@dataclass(frozen=True)
class _Filters:
    owner_id: uuid.UUID
    space: SpaceRef
    candidates: Select[Any] | None
    exclude: tuple[uuid.UUID, ...]

    def on(self, image_id: SQLCoreOperations[uuid.UUID]) -> list[ColumnElement[bool]]:
        """Conditions on an ``image_id`` column: live, a candidate, not excluded."""
        conditions: list[ColumnElement[bool]] = [self.live(image_id)]
        if self.candidates is not None:
            conditions.append(image_id.in_(self.candidates))
        if self.exclude:
            conditions.append(image_id.not_in(self.exclude))
        return conditions

    def live(self, image_id: SQLCoreOperations[uuid.UUID]) -> ColumnElement[bool]:
        """The image exists and is not in the trash, as a semi-join.

        A semi-join, not a join: the planner then probes ``images`` per vector instead of
        hashing the wide vector rows against all of the owner's images.
        """
        return exists().where(
            Image.owner_id == self.owner_id, Image.id == image_id, Image.trashed_at.is_(None)
        )


async def nearest(
    session: AsyncSession,
    owner_id: uuid.UUID,
    space: SpaceRef,
    query: Sequence[float],
    k: int,
    candidates: Select[Any] | None = None,
    *,
    exclude_image_ids: Sequence[uuid.UUID] = (),
    limits: PlanLimits = DEFAULT_LIMITS,
    cache: VectorCache | None = None,
    taken: TakenRange | None = None,
) -> list[Neighbor]:
    """The ``k`` images of ``owner_id`` nearest to ``query`` in ``space``, nearest first.

    ``candidates`` is a ``Select`` of image ids the caller already filtered (always
    inside the owner); None means all of the owner's images. Trashed images and
    ``exclude_image_ids`` are never returned. ``session`` must be a transaction opened
    with ``Database.for_user(owner_id)``, so row-level security fences every row read.
    With a ``cache``, the spaces it holds are scanned exactly in memory (``search.cache``);
    ``taken`` says the candidates are exactly the live images taken in that range (a
    date filter alone), which the cache then selects itself instead of listing them.
    """
    if not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be between 1 and {MAX_K}")
    if space.owner_id != owner_id:
        raise NotFound(f"no embedding space named {space.name!r}")
    vector = prepare_query(space, query)
    filters = _Filters(owner_id, space, candidates, tuple(exclude_image_ids))
    if cache is not None:
        cached = await cache.matrix(session, space)
        if cached is not None:
            return await _cached_scan(session, filters, cached, vector, k, taken)
    if space.vectors is not None and space.vectors <= limits.small_space:
        # A small space: one walk of its rows answers; planning would cost more. Its plan
        # (the primary key's owner and space prefix) is right for every small space,
        # so a generic plan is harmless here.
        return await _exact_scan(session, filters, vector, k, walk=True)
    await session.execute(_CUSTOM_PLANS)
    plan = await _plan(session, filters, k, limits)
    if plan.kind == "index":
        found = await _index_scan(session, filters, vector, k, plan)
        if found is not None:
            return found
    return await _exact_scan(session, filters, vector, k, walk=filters.candidates is None)


async def choose_plan(
    session: AsyncSession,
    owner_id: uuid.UUID,
    space: SpaceRef,
    k: int,
    candidates: Select[Any] | None = None,
    *,
    exclude_image_ids: Sequence[uuid.UUID] = (),
    limits: PlanLimits = DEFAULT_LIMITS,
) -> Plan:
    """The plan :func:`nearest` starts with for these arguments (tests, benchmarks)."""
    filters = _Filters(owner_id, space, candidates, tuple(exclude_image_ids))
    return await _plan(session, filters, k, limits)


async def vector_of_image(
    session: AsyncSession, owner_id: uuid.UUID, space: SpaceRef, image_id: uuid.UUID
) -> list[float] | None:
    """The vector ``image_id`` has in ``space`` (normalized in cosine spaces), or None."""
    stored = await session.scalar(
        select(Embedding.embedding).where(
            Embedding.owner_id == owner_id,
            Embedding.space_id == space.id,
            Embedding.image_id == image_id,
        )
    )
    return None if stored is None else [float(v) for v in stored]


# -- planning ------------------------------------------------------------------------------


async def _plan(session: AsyncSession, filters: _Filters, k: int, limits: PlanLimits) -> Plan:
    index = await ready_index(session, filters.space)
    usable = index is not None and index.vectors >= limits.exact_max_candidates
    vectors = index.vectors if index is not None else 0.0
    if filters.candidates is None:
        if not usable or vectors <= limits.exact_max_walk:
            return Plan("exact")
        return _index_plan(vectors, vectors, k, len(filters.exclude), limits)
    if not usable:
        return Plan("exact")
    # Below ``needed`` candidates the index window would outgrow max_window (and an
    # exact scan of so few rows is as fast anyway).
    needed = max(
        limits.exact_max_candidates,
        math.ceil(limits.oversample * k * vectors / limits.max_window),
    )
    if await _live_candidates_up_to(session, filters, needed) < needed:
        return Plan("exact")
    return _index_plan(vectors, float(needed), k, len(filters.exclude), limits)


def _index_plan(
    vectors: float, candidates: float, k: int, excluded: int, limits: PlanLimits
) -> Plan:
    """An index scan whose window should hold ``oversample * k`` candidates."""
    window = math.ceil(limits.oversample * k * vectors / candidates) + excluded
    if window > limits.max_window:
        return Plan("exact")
    return Plan("index", window, min(limits.max_window, max(window, limits.min_ef_search)))


async def _live_candidates_up_to(session: AsyncSession, filters: _Filters, cap: int) -> int:
    """How many live candidate images there are, counting no further than ``cap``.

    Read from ``images`` alone. Images without a vector only make the count high,
    never low; the index plan's verification covers that.
    """
    first = _live_candidates(filters).limit(cap).subquery()
    return int(await session.scalar(select(func.count()).select_from(first)) or 0)


# -- execution -----------------------------------------------------------------------------


def _live_candidates(filters: _Filters, column: ColumnElement[Any] | None = None) -> Select[Any]:
    """``column`` (the image id by default) of the live candidates but the excluded ones.

    A caller's filter that reads ``images`` alone (the usual case) is narrowed in place:
    the same rows, one scan. Anything else is joined by id (PostgreSQL cannot remove the
    self-join itself, and it doubles the cost for large users).
    """
    assert filters.candidates is not None
    wanted = Image.id.label("image_id") if column is None else column
    live = [Image.owner_id == filters.owner_id, Image.trashed_at.is_(None)]
    if filters.exclude:
        live.append(Image.id.not_in(filters.exclude))
    if filters.candidates.get_final_froms() == [Image.__table__]:
        narrowed = filters.candidates.with_only_columns(wanted).where(*live)
        return narrowed.order_by(None).limit(None)
    return select(wanted).where(*live, Image.id.in_(filters.candidates))


def _packed_candidates(filters: _Filters) -> Select[Any]:
    """The live candidates as one bytea of 16-byte ids: no object per row."""
    return _live_candidates(filters, packed_uuids(Image.id))


async def _cached_scan(
    session: AsyncSession,
    filters: _Filters,
    cached: CachedSpace,
    vector: list[float],
    k: int,
    taken: TakenRange | None,
) -> list[Neighbor]:
    """Exact k nearest from the in-memory matrix and its overlay of rows changed since it
    was loaded. Both hold live images only (``search.cache``): with no filter or a date
    range alone, no statement is needed; other filters are listed by the database."""
    listed = None
    if filters.candidates is not None and taken is None:
        listed = _unpack(await session.scalar(_packed_candidates(filters)))
    found = await cached.nearest(
        np.asarray(vector, dtype=np.float32),
        k,
        listed=listed,
        taken=None if filters.candidates is None else taken,
        skipped=_unpack(None, [image_id.bytes for image_id in filters.exclude]),
    )
    metric = filters.space.metric
    return [Neighbor(image_id, reported_distance(metric, raw)) for image_id, raw in found]


def _unpack(packed: bytes | None, extra: Sequence[bytes] = ()) -> NDArray[np.bytes_]:
    ids = np.frombuffer(packed or b"", dtype="S16")
    if extra:
        ids = np.concatenate([ids, np.array(extra, dtype="S16")])
    return ids


def _query_param(space: SpaceRef, vector: list[float]) -> ColumnElement[Any]:
    return cast(bindparam("query", vector, type_=Vector(space.dimension)), Vector(space.dimension))


async def _exact_scan(
    session: AsyncSession, filters: _Filters, vector: list[float], k: int, *, walk: bool
) -> list[Neighbor]:
    """The exact ``k`` nearest. With ``walk``, along the owner's rows of the space (the
    primary key's prefix), the filter a semi-join; else driven by the live candidates,
    each probing the primary key for its vector."""
    space = filters.space
    # The plain column (not the ``::vector(d)`` cast the HNSW indexes are built on), so
    # PostgreSQL cannot turn this into an approximate index scan.
    raw = Embedding.embedding.op(OPERATOR[space.metric], return_type=Float)(
        _query_param(space, vector)
    )
    statement: Select[Any]
    if walk:
        statement = (
            select(Embedding.image_id, raw.label("raw"))
            .where(
                Embedding.owner_id == filters.owner_id,
                Embedding.space_id == space.id,
                *filters.on(Embedding.image_id),
            )
            .order_by(raw, Embedding.image_id)
        )
    else:
        candidate = _live_candidates(filters).subquery("candidate")
        # LIMIT 1 (an image has one vector per space) keeps PostgreSQL from flattening
        # the subquery into a join it may reorder: joined, it walked all of a large
        # user's wide vector rows for a filter of a few hundred images (0.15-3 s).
        scored = (
            select(raw.label("raw"))
            .where(
                Embedding.owner_id == filters.owner_id,
                Embedding.space_id == space.id,
                Embedding.image_id == candidate.c.image_id,
            )
            .limit(1)
            .lateral("scored")
        )
        statement = (
            select(candidate.c.image_id, scored.c.raw)
            .select_from(candidate.join(scored, true()))
            .order_by(scored.c.raw, candidate.c.image_id)
        )
    rows = await session.execute(statement.limit(k))
    return [Neighbor(row.image_id, reported_distance(space.metric, row.raw)) for row in rows]


async def _index_scan(
    session: AsyncSession,
    filters: _Filters,
    vector: list[float],
    k: int,
    plan: Plan,
) -> list[Neighbor] | None:
    """The index plan's answer, or None when it cannot vouch for ``k`` results."""
    space = filters.space
    await session.execute(_SET_EF_SEARCH, {"ef": str(plan.ef_search)})
    typed = cast(Embedding.embedding, Vector(space.dimension))
    raw = typed.op(OPERATOR[space.metric], return_type=Float)(_query_param(space, vector))
    # Constants, not parameters: PostgreSQL proves a partial index matches a query only
    # from constants, and a prepared (generic) plan would lose the index. Both are UUIDs.
    nearest_rows = (
        select(Embedding.image_id.label("image_id"), raw.label("raw"))
        .where(
            Embedding.owner_id == literal_column(f"'{filters.owner_id}'::uuid"),
            Embedding.space_id == literal_column(f"'{space.id}'::uuid"),
        )
        .order_by(raw)
        .limit(plan.window)
        .subquery()
    )
    statement = (
        select(
            nearest_rows.c.image_id,
            nearest_rows.c.raw,
            func.count().over().label("matches"),
        )
        .where(*filters.on(nearest_rows.c.image_id))
        .order_by(nearest_rows.c.raw, nearest_rows.c.image_id)
        .limit(k)
    )
    rows = (await session.execute(statement)).all()
    if len(rows) < k:
        return None
    return [Neighbor(row.image_id, reported_distance(space.metric, row.raw)) for row in rows]
