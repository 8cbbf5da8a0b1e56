"""Bodies of the analysis routes: what an analyzer may write, and what it reads back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from photostore.api.schemas.common import MAX_BULK_IDS, Box, Unit
from photostore.domain.analysis import AnalysisResult, AnalysisWrite, RawLabel
from photostore.services.analysis import HistoryPage
from photostore.text_rules import MAX_LABEL_LENGTH

Name = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_LENGTH)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DetectedObject(_Strict):
    label: Name
    confidence: Unit
    box: Box


class Scene(_Strict):
    label: Name
    confidence: Unit


class OcrLine(_Strict):
    text: str = Field(min_length=1, max_length=10_000)
    box: Box | None = None


class Landmark(_Strict):
    name: Name
    place: str | None = Field(default=None, max_length=500)
    confidence: Unit | None = None


class AnalysisPayload(_Strict):
    """What an analyzer found; every part is optional, unknown parts are refused."""

    objects: list[DetectedObject] = Field(default_factory=list, max_length=500)
    scenes: list[Scene] = Field(default_factory=list, max_length=200)
    ocr: list[OcrLine] = Field(default_factory=list, max_length=1000)
    landmarks: list[Landmark] = Field(default_factory=list, max_length=100)
    caption: str | None = Field(default=None, max_length=10_000)


class AnalysisIn(_Strict):
    model_version: str = Field(min_length=1, max_length=100)
    payload: AnalysisPayload

    def write(self) -> AnalysisWrite:
        p = self.payload
        labels = [
            *(RawLabel("object", o.label, o.confidence) for o in p.objects),
            *(RawLabel("scene", s.label, s.confidence) for s in p.scenes),
            *(RawLabel("landmark", m.name, m.confidence) for m in p.landmarks),
        ]
        return AnalysisWrite(
            model_version=self.model_version,
            payload=p.model_dump(mode="json", exclude_unset=True),
            labels=labels,
            ocr_lines=[line.text for line in p.ocr],
            caption=p.caption,
        )


class AnalysisOut(BaseModel):
    id: uuid.UUID
    image_id: uuid.UUID
    analyzer: str
    model_version: str
    payload: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, result: AnalysisResult) -> AnalysisOut:
        return cls(
            id=result.id,
            image_id=result.image_id,
            analyzer=result.analyzer,
            model_version=result.model_version,
            payload=result.payload,
            created_at=result.created_at,
        )


class AnalysisList(BaseModel):
    items: list[AnalysisOut]


class AnalysisPage(BaseModel):
    items: list[AnalysisOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: HistoryPage) -> AnalysisPage:
        return cls(items=[AnalysisOut.of(r) for r in page.items], next_cursor=page.next_cursor)


class AnalysisItemIn(AnalysisIn):
    """One result of a batch: the image and analyzer it is about, and the result."""

    image_id: uuid.UUID
    analyzer: str = Field(pattern=r"^[a-z0-9._-]{1,100}$")


class AnalysisBatchIn(_Strict):
    """1 to 1000 results; all are stored, or none."""

    items: list[AnalysisItemIn] = Field(min_length=1, max_length=MAX_BULK_IDS)
