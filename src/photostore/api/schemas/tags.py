"""Bodies of the tag routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from photostore.domain.tags import Tag
from photostore.services.tag_library import TagPage as ServiceTagPage
from photostore.text_rules import MAX_TAG_LENGTH


class TagIn(BaseModel):
    """A tag name: 1 to ``MAX_TAG_LENGTH`` characters after trimming, no commas or control
    characters (``text_rules.clean_tag_names``)."""

    model_config = ConfigDict(extra="forbid")

    # Room for the spaces around a name, which the rule trims before it counts.
    name: str = Field(min_length=1, max_length=2 * MAX_TAG_LENGTH)


class TagOut(BaseModel):
    id: uuid.UUID
    name: str
    image_count: int
    created_at: datetime

    @classmethod
    def of(cls, tag: Tag) -> TagOut:
        return cls(id=tag.id, name=tag.name, image_count=tag.image_count, created_at=tag.created_at)


class TagPage(BaseModel):
    items: list[TagOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: ServiceTagPage) -> TagPage:
        return cls(items=[TagOut.of(t) for t in page.items], next_cursor=page.next_cursor)
