"""Bodies of the embedding-space, vector and duplicate routes."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Literal, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictFloat, model_validator

from photostore.domain.embeddings import SpaceDefinition, SpaceView, StoredVector
from photostore.domain.search import Neighbor
from photostore.services.embeddings import (
    MAX_DIMENSION,
    MAX_VECTOR_BATCH,
    BatchResult,
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


Float32Values = NDArray[np.float32]

# Base64 of MAX_DIMENSION float32 values: four characters for every three bytes.
_MAX_BASE64 = (MAX_DIMENSION * 4 + 2) // 3 * 4


class VectorItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image_id: uuid.UUID
    # Strict: numbers only (a string of digits is refused), and pydantic's JSON parser
    # reads them without a lax conversion per value.
    values: list[StrictFloat] | None = Field(
        default=None,
        max_length=MAX_DIMENSION,
        description="As many as the space's dimension; or send values_base64",
    )
    values_base64: str | None = Field(
        default=None,
        max_length=_MAX_BASE64,
        description=(
            "The values as little-endian 32-bit floats, base64-encoded (4 bytes a value): "
            "a quarter of the JSON text of a list, parsed at a fraction of its cost; "
            "instead of values"
        ),
    )

    _decoded: Float32Values | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_encoding(self) -> Self:
        if (self.values is None) == (self.values_base64 is None):
            raise ValueError("send the vector as exactly one of values and values_base64")
        if self.values_base64 is not None:
            # Decoded while the body is validated (in a worker thread, see api.bodies),
            # so that an error names the item: body.items.7.
            self._decoded = decode_float32(self.values_base64)
        return self

    def item(self) -> VectorItem:
        values = self.values if self._decoded is None else self._decoded
        assert values is not None
        return VectorItem(image_id=self.image_id, values=values)


def decode_float32(text: str) -> Float32Values:
    """The float32 values that ``text`` (base64 of little-endian float32) holds;
    ValueError if it is not that."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise ValueError(f"values_base64 is not base64: {error}") from error
    if len(raw) % 4:
        raise ValueError(f"values_base64 holds {len(raw)} bytes; 32-bit floats take 4 bytes each")
    return np.frombuffer(raw, dtype="<f4")


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
