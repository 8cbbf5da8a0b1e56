"""Bodies of the tag routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from photostore.services.tag_library import TagPage as ServiceTagPage
from photostore.services.tag_library import TagView


class TagIn(BaseModel):
    """A tag name: 1-100 characters after trimming, no commas or control characters."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)


class TagOut(BaseModel):
    id: uuid.UUID
    name: str
    image_count: int
    created_at: datetime

    @classmethod
    def of(cls, view: TagView) -> TagOut:
        return cls(
            id=view.tag.id,
            name=view.tag.name,
            image_count=view.image_count,
            created_at=view.tag.created_at,
        )


class TagPage(BaseModel):
    items: list[TagOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: ServiceTagPage) -> TagPage:
        return cls(items=[TagOut.of(v) for v in page.items], next_cursor=page.next_cursor)
