"""Analysis results: what analyzers (object detection, OCR, captioning...) say about images.

Every write is kept, as history. The newest write of an analyzer about an image is its
current result: the labels and texts derived from it replace, in the same transaction,
those of that analyzer's earlier writes about the image, and the image's search document
is rebuilt. Writes of one analyzer about one image are serialized (an advisory lock), so
the labels and texts always come from the write that is newest by ``created_at``.

Label names are normalized for filtering: stripped, lower-cased, inner whitespace
collapsed; a name given twice in one write keeps its highest confidence.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import AnalysisResult, ImageText, Label
from photostore.db.repositories.ownership import ensure_owned
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.errors import NotFound
from photostore.ids import new_id
from photostore.services.context import ServiceContext
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor
from photostore.text_rules import normalize_label


@dataclass(frozen=True)
class RawLabel:
    """A label as an analyzer wrote it: kind ``object``, ``scene`` or ``landmark``."""

    kind: str
    name: str
    confidence: float | None


@dataclass(frozen=True)
class AnalysisWrite:
    """One write of an analyzer: the payload as stored, and what is derived from it."""

    model_version: str
    payload: dict[str, Any]
    labels: list[RawLabel] = field(default_factory=list)
    ocr_lines: list[str] = field(default_factory=list)
    caption: str | None = None


@dataclass(frozen=True)
class HistoryPage:
    items: list[AnalysisResult]
    next_cursor: str | None


def merge_labels(labels: list[RawLabel]) -> dict[tuple[str, str], float | None]:
    """Normalized (kind, name) -> highest confidence given (None if none was)."""
    merged: dict[tuple[str, str], float | None] = {}
    for label in labels:
        name = normalize_label(label.name)
        if not name:
            continue
        key = (label.kind, name)
        known = merged.get(key)
        if key not in merged or known is None:
            merged[key] = label.confidence
        elif label.confidence is not None:
            merged[key] = max(known, label.confidence)
    return merged


class AnalysisService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def write(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, analyzer: str, write: AnalysisWrite
    ) -> AnalysisResult:
        """Store a write; its labels and texts become the analyzer's current ones."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            await session.execute(
                select(
                    func.pg_advisory_xact_lock(
                        func.hashtextextended(f"analysis:{owner_id}:{image_id}:{analyzer}", 0)
                    )
                )
            )
            result = AnalysisResult(
                owner_id=owner_id,
                id=new_id(),
                image_id=image_id,
                analyzer=analyzer,
                model_version=write.model_version,
                payload=write.payload,
                created_at=self.ctx.clock(),
            )
            session.add(result)
            await _replace_labels_and_texts(session, owner_id, image_id, analyzer, write)
            await session.flush()
            await refresh_search_documents(session, owner_id, [image_id])
            return result

    async def current(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> list[AnalysisResult]:
        """The newest result of each analyzer about the image, by analyzer name."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            rows = await session.scalars(
                select(AnalysisResult)
                .ext(distinct_on(AnalysisResult.analyzer))
                .where(AnalysisResult.owner_id == owner_id, AnalysisResult.image_id == image_id)
                .order_by(
                    AnalysisResult.analyzer,
                    AnalysisResult.created_at.desc(),
                    AnalysisResult.id.desc(),
                )
            )
            return list(rows.all())

    async def newest(
        self,
        owner_id: uuid.UUID,
        image_id: uuid.UUID,
        analyzer: str,
        model_version: str | None = None,
    ) -> AnalysisResult:
        """The analyzer's newest result (of ``model_version`` when given); NotFound if none."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            stmt = select(AnalysisResult).where(
                AnalysisResult.owner_id == owner_id,
                AnalysisResult.image_id == image_id,
                AnalysisResult.analyzer == analyzer,
            )
            if model_version is not None:
                stmt = stmt.where(AnalysisResult.model_version == model_version)
            result = await session.scalar(
                stmt.order_by(AnalysisResult.created_at.desc(), AnalysisResult.id.desc()).limit(1)
            )
            if result is None:
                raise NotFound("no result of this analyzer for this image")
            return result

    async def history(
        self,
        owner_id: uuid.UUID,
        image_id: uuid.UUID,
        analyzer: str,
        limit: int,
        cursor: str | None,
    ) -> HistoryPage:
        """Every write of the analyzer about the image, newest first, in keyset pages."""
        check_limit(limit)
        stmt = select(AnalysisResult).where(
            AnalysisResult.owner_id == owner_id,
            AnalysisResult.image_id == image_id,
            AnalysisResult.analyzer == analyzer,
        )
        if cursor is not None:
            created_at, last_id = decode_cursor(cursor)
            stmt = stmt.where(
                tuple_(AnalysisResult.created_at, AnalysisResult.id) < tuple_(created_at, last_id)
            )
        stmt = stmt.order_by(AnalysisResult.created_at.desc(), AnalysisResult.id.desc())
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            results = list((await session.scalars(stmt.limit(limit + 1))).all())
        last = results[limit - 1] if len(results) > limit else None
        return HistoryPage(
            items=results[:limit],
            next_cursor=encode_cursor(last.created_at, last.id) if last is not None else None,
        )


async def _replace_labels_and_texts(
    session: AsyncSession,
    owner_id: uuid.UUID,
    image_id: uuid.UUID,
    analyzer: str,
    write: AnalysisWrite,
) -> None:
    await session.execute(
        delete(Label).where(
            Label.owner_id == owner_id, Label.image_id == image_id, Label.analyzer == analyzer
        )
    )
    await session.execute(
        delete(ImageText).where(
            ImageText.owner_id == owner_id,
            ImageText.image_id == image_id,
            ImageText.analyzer == analyzer,
        )
    )
    session.add_all(
        Label(
            owner_id=owner_id,
            image_id=image_id,
            analyzer=analyzer,
            kind=kind,
            name=name,
            confidence=confidence,
        )
        for (kind, name), confidence in merge_labels(write.labels).items()
    )
    texts = {"ocr": "\n".join(line for line in write.ocr_lines if line.strip())}
    texts["caption"] = (write.caption or "").strip()
    session.add_all(
        ImageText(owner_id=owner_id, image_id=image_id, analyzer=analyzer, kind=kind, body=body)
        for kind, body in texts.items()
        if body
    )
