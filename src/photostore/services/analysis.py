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
from collections.abc import Sequence
from dataclasses import dataclass

from photostore.db.repositories.analysis import AnalysisRepository
from photostore.db.repositories.ownership import ensure_owned
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.domain.analysis import AnalysisResult, AnalysisWrite, RawLabel
from photostore.errors import InvalidInput, NotFound
from photostore.services.batches import check_batch_size
from photostore.services.context import ServiceContext
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor
from photostore.text_rules import normalize_label


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


def derived_texts(write: AnalysisWrite) -> dict[str, str]:
    """The texts a write gives its image, by kind: its OCR lines joined (blank ones left
    out) and its caption, each only when there is one."""
    texts = {"ocr": "\n".join(line for line in write.ocr_lines if line.strip())}
    texts["caption"] = (write.caption or "").strip()
    return {kind: body for kind, body in texts.items() if body}


class AnalysisService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def write(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, analyzer: str, write: AnalysisWrite
    ) -> AnalysisResult:
        """Store a write; its labels and texts become the analyzer's current ones."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            results = AnalysisRepository(session, owner_id)
            await results.serialize_writes(image_id, analyzer)
            result = await results.add(
                image_id, analyzer, write.model_version, write.payload, self.ctx.clock()
            )
            await results.replace_derived(
                image_id, analyzer, merge_labels(write.labels), derived_texts(write)
            )
            await refresh_search_documents(session, owner_id, [image_id])
            return result

    async def write_many(
        self, owner_id: uuid.UUID, writes: Sequence[tuple[uuid.UUID, str, AnalysisWrite]]
    ) -> list[AnalysisResult]:
        """Store many writes of (image, analyzer) in one transaction, all or nothing; the
        results in the writes' order. A pair given twice is refused (which would be
        newest is not for the order of a list to say)."""
        check_batch_size(len(writes), "items")
        first: dict[tuple[uuid.UUID, str], int] = {}
        for position, (image_id, analyzer, _) in enumerate(writes):
            earlier = first.setdefault((image_id, analyzer), position)
            if earlier != position:
                raise InvalidInput(
                    f"items[{position}]: the image and analyzer are in the batch already, "
                    f"as items[{earlier}]"
                )
        image_ids = list(dict.fromkeys(image_id for image_id, _, _ in writes))
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, image_ids)
            results = AnalysisRepository(session, owner_id)
            # In one order for every batch, so two batches never wait on each other's locks.
            for image_id, analyzer in sorted(first):
                await results.serialize_writes(image_id, analyzer)
            now = self.ctx.clock()
            stored: list[AnalysisResult] = []
            for image_id, analyzer, write in writes:
                stored.append(
                    await results.add(image_id, analyzer, write.model_version, write.payload, now)
                )
                await results.replace_derived(
                    image_id, analyzer, merge_labels(write.labels), derived_texts(write)
                )
            await refresh_search_documents(session, owner_id, image_ids)
            return stored

    async def current(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> list[AnalysisResult]:
        """The newest result of each analyzer about the image, by analyzer name."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            return await AnalysisRepository(session, owner_id).current(image_id)

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
            repository = AnalysisRepository(session, owner_id)
            result = await repository.newest(image_id, analyzer, model_version)
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
        before = decode_cursor(cursor) if cursor is not None else None
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            repository = AnalysisRepository(session, owner_id)
            results = await repository.history(image_id, analyzer, limit + 1, before)
        last = results[limit - 1] if len(results) > limit else None
        return HistoryPage(
            items=results[:limit],
            next_cursor=encode_cursor(last.created_at, last.id) if last is not None else None,
        )
