"""Bodies of the album routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from photostore.domain.albums import Album, AlbumChanges
from photostore.services.albums import AlbumPage as ServiceAlbumPage
from photostore.text_rules import MAX_ALBUM_NAME_LENGTH, MAX_DESCRIPTION_LENGTH


class AlbumCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_ALBUM_NAME_LENGTH)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)


class AlbumPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=MAX_ALBUM_NAME_LENGTH)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION_LENGTH)

    def changes(self) -> AlbumChanges:
        return AlbumChanges(
            fields=frozenset(self.model_fields_set), name=self.name, description=self.description
        )


class AlbumOut(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    image_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, album: Album) -> AlbumOut:
        return cls(
            id=album.id,
            name=album.name,
            description=album.description,
            image_count=album.image_count,
            created_at=album.created_at,
            updated_at=album.updated_at,
        )


class AlbumPage(BaseModel):
    items: list[AlbumOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: ServiceAlbumPage) -> AlbumPage:
        return cls(items=[AlbumOut.of(a) for a in page.items], next_cursor=page.next_cursor)
