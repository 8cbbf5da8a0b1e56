"""Embedding spaces and the vectors of images in them; near-duplicates of an image.

A space is declared once per model version (name, model, dimension, metric); declaring
the same definition again is a no-op, a different one under a taken name a conflict.
Dropping a space drops its vectors. Cosine spaces store unit vectors
(``search.vector_values``), so a vector read back from a cosine space is the normalized one.
A bulk write stores up to ``MAX_VECTOR_BATCH`` vectors of one space in one transaction,
with the single write's rules for each (``db.search.vectors``).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from photostore.db.repositories.ownership import ensure_owned
from photostore.db.search.nearest import NearestReads
from photostore.db.search.spaces import SpaceRepository
from photostore.db.search.vectors import VectorRepository
from photostore.domain.embeddings import METRICS, SpaceDefinition, SpaceView, StoredVector
from photostore.domain.search import Neighbor
from photostore.errors import Conflict, InvalidInput, NotFound
from photostore.search import nearest, prepare_vector, prepare_vectors
from photostore.services.context import ServiceContext

SPACE_NAME = re.compile(r"[a-z0-9._-]{1,100}")
MAX_MODEL_LENGTH = 200
MAX_DIMENSION = 16000
MAX_DUPLICATES = 1000
# Vectors one bulk write may carry: 1,000 512-d vectors are about 10 MB of JSON.
MAX_VECTOR_BATCH = 1000


@dataclass(frozen=True)
class DeclareResult:
    view: SpaceView
    created: bool


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
            spaces = SpaceRepository(session, owner_id)
            created = await spaces.add_unless_named(definition)
            view = await spaces.view(definition.name)
            space = view.space
            existing = SpaceDefinition(space.name, view.model, space.dimension, space.metric)
            if existing != definition:
                raise Conflict(
                    f"the space {definition.name!r} exists with another definition "
                    f"({view.model}, {space.dimension} dimensions, {space.metric}); "
                    "a new model version needs a new space name"
                )
            return DeclareResult(view=view, created=created)

    async def list_spaces(self, owner_id: uuid.UUID) -> list[SpaceView]:
        async with self.ctx.db.for_user(owner_id) as session:
            return await SpaceRepository(session, owner_id).views()

    async def get_space(self, owner_id: uuid.UUID, name: str) -> SpaceView:
        async with self.ctx.db.for_user(owner_id) as session:
            return await SpaceRepository(session, owner_id).view(name)

    async def drop_space(self, owner_id: uuid.UUID, name: str) -> None:
        """Delete the space and (by cascade) every vector in it."""
        async with self.ctx.db.for_user(owner_id) as session:
            spaces = SpaceRepository(session, owner_id)
            space = await spaces.by_name(name)
            await spaces.drop(space.id)

    # -- vectors --------------------------------------------------------------------

    async def put_vector(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, space_name: str, values: list[float]
    ) -> PutResult:
        """Store (or replace) the vector of an image in a space."""
        async with self.ctx.db.for_user(owner_id) as session:
            space = await SpaceRepository(session, owner_id).by_name(space_name)
            await ensure_owned(session, "image", owner_id, [image_id])
            vector = prepare_vector(space, values)
            now = self.ctx.clock()
            created = await VectorRepository(session, space).put(image_id, vector, now)
            stored = StoredVector(space=space, image_id=image_id, values=vector, updated_at=now)
            return PutResult(vector=stored, created=created)

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
            space = await SpaceRepository(session, owner_id).by_name(space_name)
            # Off the event loop, like the parse of the body: 1,000 512-d vectors are 512,000
            # floats.
            vectors = await asyncio.to_thread(
                prepare_vectors, space, [item.values for item in items]
            )
            repository = VectorRepository(session, space)
            written = await repository.upsert(image_ids, vectors, self.ctx.clock())
            if written.stored < len(items):
                # Raising rolls the transaction back: none of the batch is stored.
                position = await repository.first_missing_image(image_ids)
                where = "" if position is None else f"items[{position}].image_id: "
                raise NotFound(f"{where}no such image")
            return BatchResult(stored=written.stored, created=written.created)

    async def get_vector(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, space_name: str
    ) -> StoredVector:
        async with self.ctx.db.for_user(owner_id) as session:
            space = await SpaceRepository(session, owner_id).by_name(space_name)
            await ensure_owned(session, "image", owner_id, [image_id])
            stored = await VectorRepository(session, space).get(image_id)
            if stored is None:
                raise NotFound(f"the image has no vector in the space {space_name!r}")
            return stored

    async def delete_vector(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, space_name: str
    ) -> None:
        async with self.ctx.db.for_user(owner_id) as session:
            space = await SpaceRepository(session, owner_id).by_name(space_name)
            await ensure_owned(session, "image", owner_id, [image_id])
            if not await VectorRepository(session, space).delete(image_id):
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
            space = await SpaceRepository(session, owner_id).by_name(space_name)
            await ensure_owned(session, "image", owner_id, [image_id])
            vector = await VectorRepository(session, space).values_of(image_id)
            if vector is None:
                raise NotFound(f"the image has no vector in the space {space_name!r}")
            found = await nearest(
                NearestReads(session, owner_id),
                space,
                vector,
                limit,
                exclude_image_ids=[image_id],
                cache=self.ctx.vector_cache,
            )
            return [n for n in found if n.distance <= max_distance]
