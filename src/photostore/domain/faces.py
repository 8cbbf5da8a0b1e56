"""Faces found in images: a box in relative coordinates, a score, an optional embedding."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NewFace:
    """A face to store: box in relative coordinates (checked by the caller), 0..1 score."""

    box_x: float
    box_y: float
    box_width: float
    box_height: float
    score: float
    model: str
    embedding: list[float] | None = None
    person_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Face:
    """A stored face. The embedding itself stays in the database: callers are told only
    whether one is held."""

    id: uuid.UUID
    image_id: uuid.UUID
    person_id: uuid.UUID | None
    box_x: float
    box_y: float
    box_width: float
    box_height: float
    score: float
    model: str
    has_embedding: bool
    created_at: datetime
