"""What analyzers (object detection, OCR, captioning...) write about images, and what is
read back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RawLabel:
    """A label as an analyzer wrote it: kind ``object``, ``scene`` or ``landmark``."""

    kind: str
    name: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class AnalysisWrite:
    """One write of an analyzer: the payload as stored, and what is derived from it."""

    model_version: str
    payload: dict[str, Any]
    labels: list[RawLabel] = field(default_factory=list)
    ocr_lines: list[str] = field(default_factory=list)
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """One stored write of an analyzer about an image."""

    id: uuid.UUID
    image_id: uuid.UUID
    analyzer: str
    model_version: str
    payload: dict[str, Any]
    created_at: datetime
