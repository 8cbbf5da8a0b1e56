"""Search filters (``domain.search.SearchFilters``), turned into one query of candidate
image ids, or of image rows in timeline order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, tuple_

from photostore.db.models import AlbumImage, Face, Image, ImageTag, Label, Tag
from photostore.domain.search import BoundingBox, SearchFilters
from photostore.text_rules import normalize_label


@dataclass(frozen=True)
class Candidates:
    """The candidate images of a search, as the statement of their ids: what the vector
    planner and the text ranking narrow to. ``photostore.search`` passes it on to the
    statements here and in ``db.search.nearest`` unopened."""

    ids: Select[uuid.UUID]


def candidate_images(owner_id: uuid.UUID, filters: SearchFilters) -> Candidates:
    """The ids of the owner's non-trashed images that pass every filter."""
    stmt = select(Image.id).where(Image.owner_id == owner_id, Image.trashed_at.is_(None))
    return Candidates(stmt.where(*_conditions(owner_id, filters)))


def filtered_page(
    owner_id: uuid.UUID,
    filters: SearchFilters,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Select[Image]:
    """The owner's non-trashed images that pass every filter, as rows in timeline order
    (newest ``taken_at`` first): the ``limit`` after the (``taken_at``, id) ``after``."""
    stmt = select(Image).where(Image.owner_id == owner_id, Image.trashed_at.is_(None))
    stmt = stmt.where(*_conditions(owner_id, filters))
    if after is not None:
        stmt = stmt.where(tuple_(Image.taken_at, Image.id) < tuple_(*after))
    return stmt.order_by(Image.taken_at.desc(), Image.id.desc()).limit(limit)


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
