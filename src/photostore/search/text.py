"""Full-text search over the per-image search documents.

Queries use PostgreSQL's ``websearch_to_tsquery`` with the ``simple`` configuration
(no stemming, no stop words), the configuration the documents are built with, so any
language's words match as written: ``"red car" -truck`` works as on a search engine.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import SearchDocument

TEXT_CONFIG = "simple"


@dataclass(frozen=True)
class TextHit:
    image_id: uuid.UUID
    rank: float


async def rank_text(
    session: AsyncSession,
    owner_id: uuid.UUID,
    query: str,
    candidates: Select[uuid.UUID],
    limit: int,
) -> list[TextHit]:
    """The best ``limit`` candidates matching ``query``, by ``ts_rank_cd``, best first."""
    tsquery = func.websearch_to_tsquery(TEXT_CONFIG, query)
    rank = func.ts_rank_cd(SearchDocument.document, tsquery)
    rows = await session.execute(
        select(SearchDocument.image_id, rank)
        .where(
            SearchDocument.owner_id == owner_id,
            SearchDocument.document.bool_op("@@")(tsquery),
            SearchDocument.image_id.in_(candidates),
        )
        .order_by(rank.desc(), SearchDocument.image_id.desc())
        .limit(limit)
    )
    return [TextHit(image_id=image_id, rank=float(score)) for image_id, score in rows]
