"""Embedding spaces and the vectors stored in them, as the services and the vector engine
see them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Metric = Literal["cosine", "l2", "ip"]
METRICS: tuple[Metric, ...] = ("cosine", "l2", "ip")

# pgvector builds HNSW indexes on vectors of at most 2,000 dimensions; larger spaces
# are always searched by exact scans.
MAX_INDEXED_DIMENSION = 2000


@dataclass(frozen=True)
class SpaceRef:
    """Identity and geometry of one user's space, and its state when it was read.

    ``generation`` and ``vectors`` come with the row (``search.cache`` and the planner
    use them to spare a statement); a reference made by hand leaves them None and they
    are read when needed.
    """

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    dimension: int
    metric: Metric
    generation: int | None = None
    vectors: int | None = None

    @property
    def indexable(self) -> bool:
        return self.dimension <= MAX_INDEXED_DIMENSION


@dataclass(frozen=True)
class SpaceState:
    """A space's ``generation`` (moved by every change of its vectors) and vector count."""

    generation: int
    vectors: int


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
class StoredVector:
    space: SpaceRef
    image_id: uuid.UUID
    values: list[float]
    updated_at: datetime


@dataclass(frozen=True)
class Written:
    """How many vectors a batch stored, and how many of those were new."""

    stored: int
    created: int
