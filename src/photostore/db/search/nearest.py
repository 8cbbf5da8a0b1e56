"""The nearest-neighbour statements of the vector planner (``search.planner`` says which
runs when), in one owner's transaction:

* the **exact scan**, by a walk of the space along the primary key's ``(owner_id,
  space_id)`` prefix, or driven by the live candidate images, each probing the primary
  key for its vector;
* the **index scan** of the space's HNSW index (``db.search.indexes``): a window of the
  approximately nearest vectors, filtered by the candidates afterwards;
* the counts and id lists the planner and the vector cache decide with.

Every statement answers pgvector's operator values (``OPERATOR``; ``search.vector_values``
turns them into the distances callers see), ties broken by image id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from photostore.db.search.filters import Candidates
from photostore.db.search.indexes import ready_index
from photostore.db.search.packed import packed_uuids
from photostore.db.search.reads import VectorReads
from photostore.domain.embeddings import Metric, SpaceRef
from photostore.domain.search import SpaceIndex

# The ordering operator of each metric: cosine spaces hold unit vectors, so the negative
# inner product ranks them as the cosine distance does, without the two norms ``<=>``
# recomputes for every row.
OPERATOR: dict[Metric, str] = {"cosine": "<#>", "l2": "<->", "ip": "<#>"}

_SET_EF_SEARCH = text("SELECT set_config('hnsw.ef_search', :ef, true)")
# psycopg prepares a statement after five runs, and PostgreSQL may then reuse one generic
# plan for every user and filter. Tenants differ by orders of magnitude in size, so a
# plan fit for one is ruinous for another (measured: 72 ms instead of 4.5 ms for 38
# candidates of a 37,500-vector user). Plan each search for its own parameters.
_CUSTOM_PLANS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")

# (image id, operator value), nearest first.
Hits = list[tuple[uuid.UUID, float]]


@dataclass(frozen=True)
class SearchScope:
    """The images a search of ``space`` may answer: live ones, among ``candidates``
    (None: all of the owner's), but ``exclude``."""

    space: SpaceRef
    candidates: Candidates | None
    exclude: tuple[uuid.UUID, ...]


class NearestReads:
    """The vector planner's statements, in ``session``'s transaction, one of
    ``Database.for_user(owner_id)``: row-level security fences every row read."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self.owner_id = owner_id
        self.vectors = VectorReads(session)
        """The vector cache's reads, in the same transaction."""

    async def plan_each_query(self) -> None:
        """Have PostgreSQL plan the transaction's statements for their own parameters."""
        await self._session.execute(_CUSTOM_PLANS)

    async def ready_index(self, space: SpaceRef) -> SpaceIndex | None:
        """The valid HNSW index of ``space``, or None."""
        return await ready_index(self._session, space)

    async def live_candidates_up_to(self, scope: SearchScope, cap: int) -> int:
        """How many live candidate images there are, counting no further than ``cap``.

        Read from ``images`` alone. Images without a vector only make the count high,
        never low; the index plan's verification covers that.
        """
        first = self._live_candidates(scope).limit(cap).subquery()
        return int(await self._session.scalar(select(func.count()).select_from(first)) or 0)

    async def packed_candidates(self, scope: SearchScope) -> NDArray[np.bytes_]:
        """The live candidates but the excluded ones, as 16-byte ids: no object per row."""
        packed = await self._session.scalar(self._live_candidates(scope, packed_uuids(Image.id)))
        return np.frombuffer(packed or b"", dtype="S16")

    async def exact_scan(
        self, scope: SearchScope, vector: Sequence[float], k: int, *, walk: bool
    ) -> Hits:
        """The exact ``k`` nearest. With ``walk``, along the owner's rows of the space
        (the primary key's prefix), the filter a semi-join; else driven by the live
        candidates, each probing the primary key for its vector."""
        space = scope.space
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
                    Embedding.owner_id == self.owner_id,
                    Embedding.space_id == space.id,
                    *self._eligible(scope, Embedding.image_id),
                )
                .order_by(raw, Embedding.image_id)
            )
        else:
            candidate = self._live_candidates(scope).subquery("candidate")
            # LIMIT 1 (an image has one vector per space) keeps PostgreSQL from flattening
            # the subquery into a join it may reorder: joined, it walked all of a large
            # user's wide vector rows for a filter of a few hundred images (0.15-3 s).
            scored = (
                select(raw.label("raw"))
                .where(
                    Embedding.owner_id == self.owner_id,
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
        rows = await self._session.execute(statement.limit(k))
        return [(row.image_id, row.raw) for row in rows]

    async def index_scan(
        self, scope: SearchScope, vector: Sequence[float], k: int, window: int, ef_search: int
    ) -> Hits:
        """The ``k`` nearest eligible images among the ``window`` the space's HNSW index
        finds nearest at ``hnsw.ef_search`` ``ef_search``: fewer than ``k`` when the
        window held fewer."""
        space = scope.space
        await self._session.execute(_SET_EF_SEARCH, {"ef": str(ef_search)})
        typed = cast(Embedding.embedding, Vector(space.dimension))
        raw = typed.op(OPERATOR[space.metric], return_type=Float)(_query_param(space, vector))
        # Constants, not parameters: PostgreSQL proves a partial index matches a query only
        # from constants, and a prepared (generic) plan would lose the index. Both are UUIDs.
        nearest_rows = (
            select(Embedding.image_id.label("image_id"), raw.label("raw"))
            .where(
                Embedding.owner_id == literal_column(f"'{self.owner_id}'::uuid"),
                Embedding.space_id == literal_column(f"'{space.id}'::uuid"),
            )
            .order_by(raw)
            .limit(window)
            .subquery()
        )
        statement = (
            select(
                nearest_rows.c.image_id,
                nearest_rows.c.raw,
                func.count().over().label("matches"),
            )
            .where(*self._eligible(scope, nearest_rows.c.image_id))
            .order_by(nearest_rows.c.raw, nearest_rows.c.image_id)
            .limit(k)
        )
        return [(row.image_id, row.raw) for row in await self._session.execute(statement)]

    def _eligible(
        self, scope: SearchScope, image_id: SQLCoreOperations[uuid.UUID]
    ) -> list[ColumnElement[bool]]:
        """Conditions on an ``image_id`` column: live, a candidate, not excluded."""
        conditions: list[ColumnElement[bool]] = [self._live(image_id)]
        if scope.candidates is not None:
            conditions.append(image_id.in_(scope.candidates.ids))
        if scope.exclude:
            conditions.append(image_id.not_in(scope.exclude))
        return conditions

    def _live(self, image_id: SQLCoreOperations[uuid.UUID]) -> ColumnElement[bool]:
        """The image exists and is not in the trash, as a semi-join.

        A semi-join, not a join: the planner then probes ``images`` per vector instead of
        hashing the wide vector rows against all of the owner's images.
        """
        return exists().where(
            Image.owner_id == self.owner_id, Image.id == image_id, Image.trashed_at.is_(None)
        )

    def _live_candidates(
        self, scope: SearchScope, column: ColumnElement[Any] | None = None
    ) -> Select[Any]:
        """``column`` (the image id by default) of the live candidates but the excluded
        ones.

        A caller's filter that reads ``images`` alone (the usual case) is narrowed in place:
        the same rows, one scan. Anything else is joined by id (PostgreSQL cannot remove the
        self-join itself, and it doubles the cost for large users).
        """
        assert scope.candidates is not None
        candidates = scope.candidates.ids
        wanted = Image.id.label("image_id") if column is None else column
        live = [Image.owner_id == self.owner_id, Image.trashed_at.is_(None)]
        if scope.exclude:
            live.append(Image.id.not_in(scope.exclude))
        if candidates.get_final_froms() == [Image.__table__]:
            narrowed = candidates.with_only_columns(wanted).where(*live)
            return narrowed.order_by(None).limit(None)
        return select(wanted).where(*live, Image.id.in_(candidates))


def _query_param(space: SpaceRef, vector: Sequence[float]) -> ColumnElement[Any]:
    return cast(bindparam("query", vector, type_=Vector(space.dimension)), Vector(space.dimension))
