"""Body parts shared by several resources: boxes in relative coordinates, id lists."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Relative coordinates and scores: finite, 0..1 (NaN and infinities refused).
Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]

MAX_BULK_IDS = 1000


class Box(BaseModel):
    """A rectangle in relative coordinates: (x, y) is its top-left corner, 0..1 of the
    image's displayed width and height; it must lie inside the image."""

    model_config = ConfigDict(extra="forbid")

    x: Unit
    y: Unit
    width: Unit
    height: Unit

    @model_validator(mode="after")
    def _inside_the_image(self) -> Box:
        if self.x + self.width > 1 or self.y + self.height > 1:
            raise ValueError("the box must lie inside the image: x + width <= 1, y + height <= 1")
        return self


class ImageIds(BaseModel):
    """A bulk change: 1 to 1000 image ids, all of the caller's (else 404, nothing done)."""

    model_config = ConfigDict(extra="forbid")

    image_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BULK_IDS)
