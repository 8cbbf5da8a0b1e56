"""Bodies of the face routes."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from photostore.api.schemas.common import MAX_BULK_IDS, Box, Unit
from photostore.domain.faces import Face, NewFace

# Finite numbers only: NaN or infinity would poison every distance computed from them.
Coordinate = Annotated[float, Field(allow_inf_nan=False)]


class FaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    box: Box
    score: Unit
    model: str = Field(min_length=1, max_length=100)
    embedding: list[Coordinate] | None = Field(default=None, min_length=1, max_length=4096)
    person_id: uuid.UUID | None = None

    def new_face(self) -> NewFace:
        return NewFace(
            box_x=self.box.x,
            box_y=self.box.y,
            box_width=self.box.width,
            box_height=self.box.height,
            score=self.score,
            model=self.model,
            embedding=self.embedding,
            person_id=self.person_id,
        )


class FacesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    faces: list[FaceIn] = Field(min_length=1, max_length=100)


class FacePatch(BaseModel):
    """Which person the face shows: an id to assign or move it, null to unassign it."""

    model_config = ConfigDict(extra="forbid")

    person_id: uuid.UUID | None


class FaceOut(BaseModel):
    id: uuid.UUID
    image_id: uuid.UUID
    person_id: uuid.UUID | None
    box: Box
    score: float
    model: str
    has_embedding: bool

    @classmethod
    def of(cls, face: Face) -> FaceOut:
        return cls(
            id=face.id,
            image_id=face.image_id,
            person_id=face.person_id,
            box=Box(x=face.box_x, y=face.box_y, width=face.box_width, height=face.box_height),
            score=face.score,
            model=face.model,
            has_embedding=face.has_embedding,
        )


class FaceList(BaseModel):
    items: list[FaceOut]

    @classmethod
    def of(cls, faces: list[Face]) -> FaceList:
        return cls(items=[FaceOut.of(f) for f in faces])


class FacesOfImageIn(FacesIn):
    """The faces found in one image of a batch."""

    image_id: uuid.UUID


class FaceBatchIn(BaseModel):
    """The faces found in 1 to 1000 images; all are stored, or none."""

    model_config = ConfigDict(extra="forbid")

    items: list[FacesOfImageIn] = Field(min_length=1, max_length=MAX_BULK_IDS)


class FacesOfImageOut(BaseModel):
    image_id: uuid.UUID
    faces: list[FaceOut]


class FaceBatchOut(BaseModel):
    """The stored faces of each item, in the items' order."""

    items: list[FacesOfImageOut]
