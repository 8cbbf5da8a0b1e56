"""Search filters and what the vector and text engines answer."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class BoundingBox:
    """A latitude/longitude box; ``min_longitude > max_longitude`` crosses the antimeridian."""

    min_latitude: float
    min_longitude: float
    max_latitude: float
    max_longitude: float


@dataclass(frozen=True)
class TakenRange:
    """Images taken at or after ``after`` and before ``before`` (either may be open)."""

    after: datetime | None = None
    before: datetime | None = None


@dataclass(frozen=True)
class SearchFilters:
    """What a search narrows to. Semantics (documented in docs/api.md): every filter
    narrows the result; within a list, ``tags``, ``people`` and ``labels`` must ALL match,
    ``albums`` match if the image is in ANY of them. Trashed images are never candidates.
    """

    taken_after: datetime | None = None
    taken_before: datetime | None = None
    tags: Sequence[str] = field(default_factory=tuple)
    albums: Sequence[uuid.UUID] = field(default_factory=tuple)
    people: Sequence[uuid.UUID] = field(default_factory=tuple)
    labels: Sequence[str] = field(default_factory=tuple)
    camera_make: str | None = None
    camera_model: str | None = None
    has_gps: bool | None = None
    within: BoundingBox | None = None
    favorite: bool | None = None

    @property
    def is_empty(self) -> bool:
        return self == SearchFilters()

    @property
    def taken_range_only(self) -> TakenRange | None:
        """The date range, when it is the only filter and its bounds carry a time zone."""
        moments = [m for m in (self.taken_after, self.taken_before) if m is not None]
        only_dates = SearchFilters(taken_after=self.taken_after, taken_before=self.taken_before)
        if not moments or self != only_dates or any(m.utcoffset() is None for m in moments):
            return None
        return TakenRange(self.taken_after, self.taken_before)


@dataclass(frozen=True)
class Neighbor:
    """An image and its distance to the query (smaller is nearer; see ``search.vector_values``)."""

    image_id: uuid.UUID
    distance: float


@dataclass(frozen=True)
class TextHit:
    image_id: uuid.UUID
    rank: float


@dataclass(frozen=True)
class SpaceIndex:
    """A usable HNSW index of one space and the vector count it was last measured at."""

    name: str
    vectors: float


@dataclass(frozen=True)
class ChangedImages:
    """The images (16-byte ids, distinct) of a space changed after some generation, and
    whether the transaction that read them had written nothing yet (its reads then hold
    committed rows only)."""

    image_ids: NDArray[np.bytes_]
    committed: bool
