"""Bodies of the image routes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from photostore.api.schemas.common import MAX_BULK_IDS
from photostore.domain.images import ImageChanges, ImageView
from photostore.services.image_pages import Page
from photostore.text_rules import MAX_DESCRIPTION_LENGTH, MAX_TAGS_PER_REQUEST, MAX_TITLE_LENGTH


class GpsOut(BaseModel):
    latitude: float
    longitude: float
    altitude: float | None


class ImageOut(BaseModel):
    id: uuid.UUID
    sha256: str
    original_filename: str
    content_type: str
    byte_size: int
    width: int
    height: int
    orientation: int
    taken_at: datetime = Field(
        description="When the photo was taken, in the offset it was taken in when known"
    )
    taken_at_source: str = Field(
        description="exif_original, exif_digitized, exif_datetime, sidecar, upload or user"
    )
    taken_at_offset_minutes: int | None
    uploaded_at: datetime
    updated_at: datetime
    camera_make: str | None
    camera_model: str | None
    gps: GpsOut | None
    exif: dict[str, Any]
    title: str | None
    description: str | None
    tags: list[str]
    favorite: bool
    damaged: bool = Field(
        description="The original's pixel data is truncated or partly corrupt: it is kept "
        "byte-exact and its thumbnails show what decodes"
    )
    trashed: bool
    trashed_at: datetime | None

    @classmethod
    def of(cls, view: ImageView) -> ImageOut:
        image = view.image
        gps = None
        if image.latitude is not None and image.longitude is not None:
            gps = GpsOut(
                latitude=image.latitude, longitude=image.longitude, altitude=image.altitude
            )
        return cls(
            id=image.id,
            sha256=image.sha256,
            original_filename=image.original_filename,
            content_type=image.content_type,
            byte_size=image.byte_size,
            width=image.width,
            height=image.height,
            orientation=image.orientation,
            taken_at=_in_offset(image.taken_at, image.taken_at_offset_minutes),
            taken_at_source=image.taken_at_source,
            taken_at_offset_minutes=image.taken_at_offset_minutes,
            uploaded_at=image.uploaded_at,
            updated_at=image.updated_at,
            camera_make=image.camera_make,
            camera_model=image.camera_model,
            gps=gps,
            exif=image.exif,
            title=image.title,
            description=image.description,
            tags=view.tags,
            favorite=image.favorite,
            damaged=image.damaged,
            trashed=image.trashed_at is not None,
            trashed_at=image.trashed_at,
        )


def _in_offset(moment: datetime, offset_minutes: int | None) -> datetime:
    """``moment`` in the zone offset it was taken in, when known; else in UTC."""
    zone = UTC if offset_minutes is None else timezone(timedelta(minutes=offset_minutes))
    return moment.astimezone(zone)


class ImagePage(BaseModel):
    items: list[ImageOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page) -> ImagePage:
        return cls(items=[ImageOut.of(v) for v in page.items], next_cursor=page.next_cursor)


class ImagePatch(BaseModel):
    """Fields of an image a user may change; anything else is refused."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=MAX_TITLE_LENGTH)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)
    taken_at: AwareDatetime | None = None
    favorite: bool | None = None
    tags: list[str] | None = Field(default=None, max_length=MAX_TAGS_PER_REQUEST)

    def changes(self) -> ImageChanges:
        return ImageChanges(
            fields=frozenset(self.model_fields_set),
            title=self.title,
            description=self.description,
            taken_at=self.taken_at,
            favorite=self.favorite,
            tags=self.tags or [],
        )


class ImageChangeItem(ImagePatch):
    """One image of a batch change, and the fields to change of it."""

    id: uuid.UUID

    def changes(self) -> ImageChanges:
        changes = super().changes()
        return replace(changes, fields=changes.fields - {"id"})


class ImageChangeBatch(BaseModel):
    """1 to 1000 images and their changes; all are applied, or none."""

    model_config = ConfigDict(extra="forbid")

    items: list[ImageChangeItem] = Field(min_length=1, max_length=MAX_BULK_IDS)


class ImageList(BaseModel):
    """Images in the order the request named them."""

    items: list[ImageOut]

    @classmethod
    def of(cls, views: list[ImageView]) -> ImageList:
        return cls(items=[ImageOut.of(view) for view in views])
