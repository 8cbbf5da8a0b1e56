"""The full-text statement of a search (``search.text`` says what matches and how it
ranks): words through ``websearch_to_tsquery``, near matches through ``pg_trgm``'s word
similarity and a substring, answered through the owner-scoped GIN indexes of
``search_documents``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, Float, case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import SearchDocument
from photostore.db.search.filters import Candidates
from photostore.domain.search import TextHit

# The text search configuration of the documents and of every query: ``simple``, no
# stemming and no stop words (``db.repositories.search_documents``).
TEXT_CONFIG = "simple"
# Set for the transaction: the index serves ``<%`` only with the threshold as a setting.
_SET_NEAR_THRESHOLD = text(
    "SELECT set_config('pg_trgm.word_similarity_threshold', :threshold, true)"
)


def _like_pattern(phrase: str) -> str:
    escaped = phrase.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class TextReads:
    """Full-text matches among one owner's images, in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def matches(
        self,
        web_query: str,
        near: str | None,
        near_threshold: float,
        candidates: Candidates,
        limit: int,
    ) -> list[TextHit]:
        """The best ``limit`` candidates whose words match ``web_query`` (web-search
        syntax) by ``ts_rank_cd``, then, with a ``near`` phrase, those whose text holds it
        nearly (word similarity at least ``near_threshold``, or as a substring) by
        similarity, with a rank of 0."""
        tsquery = func.websearch_to_tsquery(TEXT_CONFIG, web_query)
        words_match = SearchDocument.document.bool_op("@@")(tsquery)
        matches: ColumnElement[bool]
        similarity: ColumnElement[float]
        if near is None:
            matches = words_match
            similarity = literal(0.0, Float)
        else:
            await self._session.execute(_SET_NEAR_THRESHOLD, {"threshold": str(near_threshold)})
            matches = or_(
                words_match,
                literal(near).bool_op("<%")(SearchDocument.words),
                SearchDocument.words.like(_like_pattern(near), escape="\\"),
            )
            similarity = func.word_similarity(near, SearchDocument.words)
        rank = case((words_match, func.ts_rank_cd(SearchDocument.document, tsquery)), else_=0.0)
        rows = await self._session.execute(
            select(SearchDocument.image_id, rank)
            .where(
                SearchDocument.owner_id == self._owner_id,
                matches,
                SearchDocument.image_id.in_(candidates.ids),
            )
            .order_by(
                words_match.desc(), rank.desc(), similarity.desc(), SearchDocument.image_id.desc()
            )
            .limit(limit)
        )
        return [TextHit(image_id=image_id, rank=float(score)) for image_id, score in rows]
