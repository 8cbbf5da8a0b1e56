"""Albums: named collections of a user's images; an image may be in many albums."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Album:
    """A stored album. ``image_count`` leaves out images in the trash, like the album's
    image list."""

    id: uuid.UUID
    name: str
    description: str | None
    image_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AlbumChanges:
    """What a PATCH may change; only the names in ``fields`` are applied."""

    fields: frozenset[str]
    name: str | None = None
    description: str | None = None
