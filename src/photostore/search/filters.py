"""Search filters, turned into one query of candidate image ids.

Semantics (documented in docs/api.md): every filter narrows the result; within a list,
``tags``, ``people`` and ``labels`` must ALL match, ``albums`` match if the image is in
ANY of them. Trashed images are never candidates.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from photostore.db.models import AlbumImage, Face, Image, ImageTag, Label, Tag
from photostore.text_rules import normalize_label


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


def candidate_images(owner_id: uuid.UUID, filters: SearchFilters) -> Select[uuid.UUID]:
    """The ids of the owner's non-trashed images that pass every filter."""
    stmt = select(Image.id).where(Image.owner_id == owner_id, Image.trashed_at.is_(None))
    return stmt.where(*_conditions(owner_id, filters))


def filtered_images(owner_id: uuid.UUID, filters: SearchFilters) -> Select[Image]:
    """The owner's non-trashed images that pass every filter, as rows."""
    stmt = select(Image).where(Image.owner_id == owner_id, Image.trashed_at.is_(None))
    return stmt.where(*_conditions(owner_id, filters))


def _conditions(owner_id: uuid.UUID, f: SearchFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.taken_after is not None:
        conditions.append(Image.taken_at >= f.taken_after)
    if f.taken_before is not None:
        conditions.append(Image.taken_at < f.taken_before)
    if f.favorite is not None:
        conditions.append(Image.favorite.is_(f.favorite))
    if f.camera_make is not None:
        conditions.append(func.lower(Image.camera_make) == f.camera_make.strip().lower())
    if f.camera_model is not None:
        conditions.append(func.lower(Image.camera_model) == f.camera_model.strip().lower())
    if f.has_gps is not None:
        conditions.append(Image.latitude.is_not(None) if f.has_gps else Image.latitude.is_(None))
    if f.within is not None:
        conditions.append(_in_box(f.within))
    conditions.extend(
        exists().where(
            ImageTag.owner_id == owner_id,
            ImageTag.image_id == Image.id,
            Tag.owner_id == ImageTag.owner_id,
            Tag.id == ImageTag.tag_id,
            func.lower(Tag.name) == name,
        )
        for name in {t.strip().lower() for t in f.tags}
    )
    if f.albums:
        conditions.append(
            exists().where(
                AlbumImage.owner_id == owner_id,
                AlbumImage.image_id == Image.id,
                AlbumImage.album_id.in_(list(f.albums)),
            )
        )
    conditions.extend(
        exists().where(Face.owner_id == owner_id, Face.image_id == Image.id, Face.person_id == p)
        for p in set(f.people)
    )
    conditions.extend(
        exists().where(Label.owner_id == owner_id, Label.image_id == Image.id, Label.name == n)
        for n in {normalize_label(name) for name in f.labels}
    )
    return conditions


def _in_box(box: BoundingBox) -> ColumnElement[bool]:
    latitude = Image.latitude.between(box.min_latitude, box.max_latitude)
    if box.min_longitude <= box.max_longitude:
        return and_(latitude, Image.longitude.between(box.min_longitude, box.max_longitude))
    # The box crosses the antimeridian.
    return and_(
        latitude, or_(Image.longitude >= box.min_longitude, Image.longitude <= box.max_longitude)
    )
