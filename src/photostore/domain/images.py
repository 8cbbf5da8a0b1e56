"""Images: one user's photos, what they show, and what a caller may change of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


class Image(NamedTuple):
    """A stored image: the facts of its original file and what the user set.

    A named tuple, not a dataclass: a page of images is built from database rows by
    position, at a fraction of a dataclass's cost per row. ``taken_at`` is an instant;
    ``taken_at_offset_minutes`` is the zone offset it was taken in, when known.
    ``damaged`` says the original's pixel data is truncated or partly corrupt: the file
    is kept byte-exact and its thumbnails show what decodes.
    """

    id: uuid.UUID
    sha256: str
    original_filename: str
    content_type: str
    byte_size: int
    width: int
    height: int
    orientation: int
    taken_at: datetime
    taken_at_source: str
    taken_at_offset_minutes: int | None
    uploaded_at: datetime
    updated_at: datetime
    camera_make: str | None
    camera_model: str | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    exif: dict[str, Any]
    title: str | None
    description: str | None
    favorite: bool
    damaged: bool
    trashed_at: datetime | None


@dataclass(frozen=True, slots=True)
class ImageView:
    """An image with the names of its tags, sorted ignoring case."""

    image: Image
    tags: list[str]


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A stored thumbnail of an image; its bytes are in the blob store."""

    kind: str
    content_type: str
    byte_size: int


@dataclass(frozen=True, slots=True)
class Removed:
    """What deleting an image left for the caller to remove from the blob store: the
    kinds of its thumbnails, and whether its original is now used by no image."""

    thumbnails: list[str]
    original_unused: bool


@dataclass(frozen=True, slots=True)
class ImageChanges:
    """What a PATCH may change; only the names in ``fields`` are applied."""

    fields: frozenset[str]
    title: str | None = None
    description: str | None = None
    taken_at: datetime | None = None
    favorite: bool | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TimelineFilters:
    """Which of a user's images the timeline shows: taken in ``[taken_after,
    taken_before)``, stored or changed at or after ``created_after`` or ``updated_after``,
    carrying the tag ``tag`` (ignoring case), favourites or not, damaged or not, without a
    result of the analyzer ``missing_analysis`` or a vector in the space
    ``missing_vector``, and from the trash or not."""

    taken_after: datetime | None = None
    taken_before: datetime | None = None
    created_after: datetime | None = None
    updated_after: datetime | None = None
    tag: str | None = None
    favorite: bool | None = None
    damaged: bool | None = None
    missing_analysis: str | None = None
    missing_vector: str | None = None
    trashed: bool = False


@dataclass(frozen=True, slots=True)
class InAlbum:
    album_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class TaggedWith:
    tag_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class ShowingPerson:
    person_id: uuid.UUID


#: What the images of a list of images belong to: an album, a tag or a person.
Membership = InAlbum | TaggedWith | ShowingPerson
