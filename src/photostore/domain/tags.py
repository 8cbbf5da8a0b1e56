"""Tags: names unique per user ignoring case, each attached to many images."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Tag:
    """A stored tag. ``image_count`` leaves out images in the trash, like the tag's image
    list."""

    id: uuid.UUID
    name: str
    image_count: int
    created_at: datetime
