"""Bodies of the change feed."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from photostore.domain.changes import Change, ChangeSlice
from photostore.services.changes import encode_feed_cursor


class ChangeOut(BaseModel):
    kind: str = Field(
        description="image.created, image.updated, image.trashed, image.restored, "
        "image.purged, analysis.written, faces.written, embedding.written, embedding.deleted"
    )
    image_id: uuid.UUID
    detail: str | None = Field(
        description="The analyzer of analysis.written, the space of embedding.*; else null"
    )
    at: datetime

    @classmethod
    def of(cls, change: Change) -> ChangeOut:
        return cls(kind=change.kind, image_id=change.image_id, detail=change.detail, at=change.at)


class ChangePage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str = Field(
        description="Where to read on from: always given, also when there is nothing new"
    )

    @classmethod
    def of(cls, page: ChangeSlice) -> ChangePage:
        return cls(
            items=[ChangeOut.of(change) for change in page.changes],
            next_cursor=encode_feed_cursor(page.end),
        )
