"""People: named (or not yet named) clusters of faces, maybe hidden from search."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Person:
    """A stored person and how many faces show them."""

    id: uuid.UUID
    name: str | None
    hidden: bool
    face_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PersonChanges:
    """What a PATCH may change; only the names in ``fields`` are applied."""

    fields: frozenset[str]
    name: str | None = None
    hidden: bool | None = None
