"""Bodies of ``POST /v1/search``."""

from __future__ import annotations

import math
import uuid
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from photostore.api.schemas.images import ImageOut
from photostore.domain.search import BoundingBox, SearchFilters
from photostore.services.search import (
    MAX_SEARCH_PAGE_SIZE,
    SearchHit,
    SearchPage,
    SearchRequest,
    VectorQuery,
)


class BoxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_latitude: float = Field(ge=-90, le=90)
    min_longitude: float = Field(ge=-180, le=180)
    max_latitude: float = Field(ge=-90, le=90)
    max_longitude: float = Field(ge=-180, le=180)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_latitude > self.max_latitude:
            raise ValueError("min_latitude must not be above max_latitude")
        return self


class FiltersIn(BaseModel):
    """Every filter narrows; tags, people and labels must all match; albums any."""

    model_config = ConfigDict(extra="forbid")

    taken_after: AwareDatetime | None = None
    taken_before: AwareDatetime | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)
    albums: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    people: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    labels: list[str] = Field(default_factory=list, max_length=50)
    camera_make: str | None = Field(default=None, max_length=200)
    camera_model: str | None = Field(default=None, max_length=200)
    has_gps: bool | None = None
    within: BoxIn | None = None
    favorite: bool | None = None

    def to_domain(self) -> SearchFilters:
        box = self.within
        return SearchFilters(
            taken_after=self.taken_after,
            taken_before=self.taken_before,
            tags=tuple(self.tags),
            albums=tuple(self.albums),
            people=tuple(self.people),
            labels=tuple(self.labels),
            camera_make=self.camera_make,
            camera_model=self.camera_model,
            has_gps=self.has_gps,
            within=BoundingBox(**box.model_dump()) if box is not None else None,
            favorite=self.favorite,
        )


class QueryVectorIn(BaseModel):
    """Similarity in a named space: to ``values``, or to the vector of ``like_image``."""

    model_config = ConfigDict(extra="forbid")

    space: str = Field(min_length=1, max_length=100)
    values: list[float] | None = Field(default=None, min_length=1, max_length=16000)
    like_image: uuid.UUID | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.values is None) == (self.like_image is None):
            raise ValueError("give exactly one of values and like_image")
        if self.values is not None and not all(math.isfinite(v) for v in self.values):
            raise ValueError("values must be finite numbers")
        return self


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filters: FiltersIn = Field(default_factory=FiltersIn)
    text: str | None = Field(default=None, min_length=1, max_length=500)
    vector: QueryVectorIn | None = None
    limit: int = Field(default=20, ge=1, le=MAX_SEARCH_PAGE_SIZE)
    cursor: str | None = Field(default=None, max_length=512)

    def to_domain(self) -> SearchRequest:
        vector = self.vector
        return SearchRequest(
            filters=self.filters.to_domain(),
            text=self.text,
            vector=VectorQuery(
                space=vector.space,
                values=tuple(vector.values) if vector.values is not None else None,
                like_image=vector.like_image,
            )
            if vector is not None
            else None,
            limit=self.limit,
            cursor=self.cursor,
        )


class SearchHitOut(BaseModel):
    image: ImageOut
    score: float = Field(description="Higher is better; comparable within one answer only")
    distance: float | None = Field(default=None, description="Vector distance, when asked")
    text_rank: float | None = Field(default=None, description="ts_rank_cd, when text was asked")

    @classmethod
    def of(cls, hit: SearchHit) -> SearchHitOut:
        return cls(
            image=ImageOut.of(hit.view),
            score=hit.score,
            distance=hit.distance,
            text_rank=hit.text_rank,
        )


class SearchOut(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: SearchPage) -> SearchOut:
        return cls(items=[SearchHitOut.of(h) for h in page.items], next_cursor=page.next_cursor)
