"""Bodies of the embedding-space, vector and duplicate routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

from photostore.search import Neighbor
from photostore.services.embeddings import (
    MAX_DIMENSION,
    MAX_VECTOR_BATCH,
    BatchResult,
    SpaceDefinition,
    SpaceView,
    StoredVector,
    VectorItem,
)


class SpaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9._-]{1,100}$", description="Unique per user")
    model: str = Field(min_length=1, max_length=200, description="The model that makes them")
    dimension: int = Field(ge=1, le=16000)
    metric: Literal["cosine", "l2", "ip"]

    def definition(self) -> SpaceDefinition:
        return SpaceDefinition(self.name, self.model, self.dimension, self.metric)


class SpaceOut(BaseModel):
    name: str
    model: str
    dimension: int
    metric: str
    created_at: datetime

    @classmethod
    def of(cls, view: SpaceView) -> SpaceOut:
        space = view.space
        return cls(
            name=space.name,
            model=view.model,
            dimension=space.dimension,
            metric=space.metric,
            created_at=view.created_at,
        )


class SpaceList(BaseModel):
    items: list[SpaceOut]


class VectorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: list[float] = Field(max_length=16000, description="As many as the space's dimension")


class VectorItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image_id: uuid.UUID
    # Strict: numbers only (a string of digits is refused), and pydantic's JSON parser
    # reads them without a lax conversion per value.
    values: list[StrictFloat] = Field(
        max_length=MAX_DIMENSION, description="As many as the space's dimension"
    )

    def item(self) -> VectorItem:
        return VectorItem(image_id=self.image_id, values=self.values)


class VectorBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[VectorItemIn] = Field(
        min_length=1,
        max_length=MAX_VECTOR_BATCH,
        description="Vectors of distinct images of the caller, all in the space of the path",
    )


class VectorBatchOut(BaseModel):
    stored: int = Field(description="Vectors stored: every item of the batch")
    created: int = Field(description="Images that had no vector in the space before")
    replaced: int = Field(description="Images whose earlier vector was replaced")

    @classmethod
    def of(cls, result: BatchResult) -> VectorBatchOut:
        return cls(stored=result.stored, created=result.created, replaced=result.replaced)


class VectorOut(BaseModel):
    image_id: uuid.UUID
    space: str
    dimension: int
    metric: str
    values: list[float] = Field(description="Unit length in cosine spaces (stored normalized)")
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredVector) -> VectorOut:
        return cls(
            image_id=stored.image_id,
            space=stored.space.name,
            dimension=stored.space.dimension,
            metric=stored.space.metric,
            values=stored.values,
            updated_at=stored.updated_at,
        )


class NeighborOut(BaseModel):
    image_id: uuid.UUID
    distance: float = Field(description="cosine: 1 - cos; l2: Euclidean; ip: -(a·b)")

    @classmethod
    def of(cls, neighbor: Neighbor) -> NeighborOut:
        return cls(image_id=neighbor.image_id, distance=neighbor.distance)


class DuplicatesOut(BaseModel):
    items: list[NeighborOut]
