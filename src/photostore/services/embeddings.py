"""Embedding spaces and the vectors of images in them; near-duplicates of an image.

A space is declared once per model version (name, model, dimension, metric); declaring
the same definition again is a no-op, a different one under a taken name a conflict.
Dropping a space drops its vectors. Cosine spaces store unit vectors
(``search.vector_values``), so a vector read back from a cosine space is the normalized one.
A bulk write stores up to ``MAX_VECTOR_BATCH`` vectors of one space in one transaction,
with the single write's rules for each (``search.writes``).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Embedding, EmbeddingSpace
from photostore.db.repositories.ownership import ensure_owned
from photostore.errors import Conflict, InvalidInput, NotFound
from photostore.ids import new_id
from photostore.search import (
    Neighbor,
    SpaceRef,
    nearest,
    prepare_vector,
    prepare_vectors,
    space_by_name,
    vector_of_image,
)
from photostore.search.space import METRICS
from photostore.search.writes import first_missing_image, upsert_vectors
from photostore.services.context import ServiceContext

SPACE_NAME = re.compile(r"[a-z0-9._-]{1,100}")
MAX_MODEL_LENGTH = 200
MAX_DIMENSION = 16000
MAX_DUPLICATES = 1000
# Vectors one bulk write may carry: 1,000 512-d vectors are about 10 MB of JSON.
MAX_VECTOR_BATCH = 1000


@dataclass(frozen=True)
class SpaceDefinition:
    name: str
    model: str
    dimension: int
    metric: str


@dataclass(frozen=True)
class SpaceView:
    space: SpaceRef
    model: str
    created_at: datetime


@dataclass(frozen=True)
class DeclareResult:
    view: SpaceView
    created: bool


@dataclass(frozen=True)
class StoredVector:
    space: SpaceRef
    image_id: uuid.UUID
    values: list[float]
    updated_at: datetime


@dataclass(frozen=True)
class PutResult:
    vector: StoredVector
    created: bool


@dataclass(frozen=True)
class VectorItem:
    """One image's vector in a bulk write."""

    image_id: uuid.UUID
    values: Sequence[float] | NDArray[np.float32]


@dataclass(frozen=True)
class BatchResult:
    """What a bulk write did: ``stored`` vectors, ``created`` of them new, the rest
    replacing earlier ones."""

    stored: int
    created: int

    @property
    def replaced(self) -> int:
        return self.stored - self.created


def check_definition(definition: SpaceDefinition) -> None:
    """InvalidInput unless ``definition`` is a space photostore can hold."""
    if not SPACE_NAME.fullmatch(definition.name):
        raise InvalidInput("a space name is 1 to 100 of a-z, 0-9, '.', '_' and '-'")
    if not definition.model.strip() or len(definition.model) > MAX_MODEL_LENGTH:
        raise InvalidInput(f"the model is 1 to {MAX_MODEL_LENGTH} characters")
    if not 1 <= definition.dimension <= MAX_DIMENSION:
        raise InvalidInput(f"the dimension is between 1 and {MAX_DIMENSION}")
    if definition.metric not in METRICS:
        raise InvalidInput(f"the metric is one of {', '.join(METRICS)}")


def _distinct_image_ids(items: Sequence[VectorItem]) -> list[uuid.UUID]:
    """The items' image ids, in order; InvalidInput naming the first repeated one (one
    statement cannot write an image's vector twice, and which one wins would be a guess)."""
    first_at: dict[uuid.UUID, int] = {}
    for position, item in enumerate(items):
        earlier = first_at.setdefault(item.image_id, position)
        if earlier != position:
            raise InvalidInput(
                f"items[{position}].image_id: the image is in the batch already, "
                f"as items[{earlier}]"
            )
    return list(first_at)


def _view(row: EmbeddingSpace) -> SpaceView:
    return SpaceView(space=SpaceRef.of(row), model=row.model, created_at=row.created_at)


class EmbeddingService:
    """Spaces, vectors and duplicates of one user at a time."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- spaces ---------------------------------------------------------------------

    async def declare_space(
        self, owner_id: uuid.UUID, definition: SpaceDefinition
    ) -> DeclareResult:
        """Create the space, or return it when the same definition exists (409 if not)."""
        check_definition(definition)
        async with self.ctx.db.for_user(owner_id) as session:
            inserted = await session.scalar(
                insert(EmbeddingSpace)
                .values(
                    owner_id=owner_id,
                    id=new_id(),
                    name=definition.name,
                    model=definition.model,
                    dimension=definition.dimension,
                    metric=definition.metric,
                )
                .on_conflict_do_nothing(index_elements=["owner_id", "name"])
                .returning(EmbeddingSpace.id)
            )
            row = await self._space_row(session, owner_id, definition.name)
            existing = SpaceDefinition(row.name, row.model, row.dimension, row.metric)
            if existing != definition:
                raise Conflict(
                    f"the space {definition.name!r} exists with another definition "
                    f"({row.model}, {row.dimension} dimensions, {row.metric}); "
                    "a new model version needs a new space name"
                )
            created = inserted is not None
            return DeclareResult(view=_view(row), created=created)

    async def list_spaces(self, owner_id: uuid.UUID) -> list[SpaceView]:
        async with self.ctx.db.for_user(owner_id) as session:
            rows = await session.scalars(
                select(EmbeddingSpace)
                .where(EmbeddingSpace.owner_id == owner_id)
                .order_by(EmbeddingSpace.name)
            )
            return [_view(row) for row in rows]

    async def get_space(self, owner_id: uuid.UUID, name: str) -> SpaceView:
        async with self.ctx.db.for_user(owner_id) as session:
            return _view(await self._space_row(session, owner_id, name))

    async def drop_space(self, owner_id: uuid.UUID, name: str) -> None:
        """Delete the space and (by cascade) every vector in it."""
        async with self.ctx.db.for_user(owner_id) as session:
            row = await self._space_row(session, owner_id, name)
            await session.execute(
                delete(EmbeddingSpace).where(
                    EmbeddingSpace.owner_id == owner_id, EmbeddingSpace.id == row.id
                )
            )

    @staticmethod
    async def _space_row(session: AsyncSession, owner_id: uuid.UUID, name: str) -> EmbeddingSpace:
        row = await session.scalar(
            select(EmbeddingSpace).where(
                EmbeddingSpace.owner_id == owner_id, EmbeddingSpace.name == name
            )
        )
        if row is None:
            raise NotFound(f"no embedding space named {name!r}")
        return row

    # -- vectors --------------------------------------------------------------------

    async def put_vector(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, space_name: str, values: list[float]
    ) -> PutResult:
        """Store (or replace) the vector of an image in a space."""
        async with self.ctx.db.for_user(owner_id) as session:
            space = await space_by_name(session, owner_id, space_name)
            await ensure_owned(session, "image", owner_id, [image_id])
            vector = prepare_vector(space, values)
            now = self.ctx.clock()
            statement = insert(Embedding).values(
                owner_id=owner_id,
                space_id=space.id,
                image_id=image_id,
                embedding=vector,
                updated_at=now,
            )
            # xmax is 0 on a freshly inserted row and set on the row an upsert updated.
            created = await session.scalar(
                statement.on_conflict_do_update(
                    index_elements=["owner_id", "space_id", "image_id"],
                    set_={"embedding": vector, "updated_at": now},
                ).returning(literal_column("(xmax = 0)"))
            )
            stored = StoredVector(space=space, image_id=image_id, values=vector, updated_at=now)
            return PutResult(vector=stored, created=bool(created))

    async def put_vectors(
        self, owner_id: uuid.UUID, space_name: str, items: Sequence[VectorItem]
    ) -> BatchResult:
        """Store (or replace) the vectors of up to ``MAX_VECTOR_BATCH`` images in a space,
        all or nothing: a bad item is an InvalidInput naming it (``items[7].values``), an
        image that is not the caller's a NotFound naming it, and nothing is stored."""
        if not 1 <= len(items) <= MAX_VECTOR_BATCH:
            raise InvalidInput(f"a batch holds 1 to {MAX_VECTOR_BATCH} vectors, not {len(items)}")
        image_ids = _distinct_image_ids(items)
        async with self.ctx.db.for_user(owner_id) as session:
            space = await space_by_name(session, owner_id, space_name)
            # Off the event loop, like the parse of the body: 1,000 512-d vectors are 512,000
            # floats.
            vectors = await asyncio.to_thread(
                prepare_vectors, space, [item.values for item in items]
            )
            written = await upsert_vectors(session, space, image_ids, vectors, self.ctx.clock())
            if written.stored < len(items):
                # Raising rolls the transaction back: none of the batch is stored.
                position = await first_missing_image(session, owner_id, image_ids)
                where = "" if position is None else f"items[{position}].image_id: "
                raise NotFound(f"{where}no such image")
            return BatchResult(stored=written.stored, created=written.created)

    async def get_vector(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, space_name: str
    ) -> StoredVector:
        async with self.ctx.db.for_user(owner_id) as session:
            space = await space_by_name(session, owner_id, space_name)
            await ensure_owned(session, "image", owner_id, [image_id])
            row = await session.scalar(
                select(Embedding).where(
                    Embedding.owner_id == owner_id,
                    Embedding.space_id == space.id,
                    Embedding.image_id == image_id,
                )
            )
            if row is None:
                raise NotFound(f"the image has no vector in the space {space_name!r}")
            return StoredVector(
                space=space,
                image_id=image_id,
                values=[float(v) for v in row.embedding],
                updated_at=row.updated_at,
            )

    async def delete_vector(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, space_name: str
    ) -> None:
        async with self.ctx.db.for_user(owner_id) as session:
            space = await space_by_name(session, owner_id, space_name)
            await ensure_owned(session, "image", owner_id, [image_id])
            result = await session.execute(
                delete(Embedding)
                .where(
                    Embedding.owner_id == owner_id,
                    Embedding.space_id == space.id,
                    Embedding.image_id == image_id,
                )
                .returning(Embedding.image_id)
            )
            if result.first() is None:
                raise NotFound(f"the image has no vector in the space {space_name!r}")

    # -- near-duplicates ------------------------------------------------------------

    async def duplicates(
        self,
        owner_id: uuid.UUID,
        image_id: uuid.UUID,
        space_name: str,
        max_distance: float,
        limit: int,
    ) -> list[Neighbor]:
        """Images within ``max_distance`` of ``image_id`` in the space, nearest first."""
        if not 1 <= limit <= MAX_DUPLICATES:
            raise InvalidInput(f"limit is between 1 and {MAX_DUPLICATES}")
        async with self.ctx.db.for_user(owner_id) as session:
            space = await space_by_name(session, owner_id, space_name)
            await ensure_owned(session, "image", owner_id, [image_id])
            vector = await vector_of_image(session, owner_id, space, image_id)
            if vector is None:
                raise NotFound(f"the image has no vector in the space {space_name!r}")
            found = await nearest(
                session,
                owner_id,
                space,
                vector,
                limit,
                exclude_image_ids=[image_id],
                cache=self.ctx.vector_cache,
            )
            return [n for n in found if n.distance <= max_distance]
