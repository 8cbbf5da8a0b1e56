"""Full-text search over the per-image search documents: words, then near words.

An image matches a text query when

* its **words** match: PostgreSQL's ``websearch_to_tsquery`` with the ``simple``
  configuration (no stemming, no stop words), the configuration the documents are built
  with, so any language's words match as written: ``"red car" -truck`` works as on a
  search engine; ranked by ``ts_rank_cd``;
* or, for a query of plain words (no quotes, ``-`` or ``or``), its text holds the query
  **nearly**: as a part of a word or across separators (``2019`` finds
  ``IMG_20190704.jpg``), or with a typo (``lighthuose`` finds a caption's
  ``lighthouse``): ``pg_trgm``'s word similarity of the query to the closest stretch of
  the image's text, at least ``NEAR_THRESHOLD``, or the query as a substring. These come
  after every word match, most similar first, with a ``rank`` of 0: they have no word
  rank.

Both are answered through owner-scoped indexes (``search_documents``' GIN indexes).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, Select, case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import SearchDocument

TEXT_CONFIG = "simple"
# Trigrams need three characters; a shorter query has no near matches worth the scan.
MIN_NEAR_QUERY = 3
# The least word similarity of a near match. pg_trgm's default, 0.6, misses common typos:
# a swapped pair in "lighthouse" scores 0.55, "harbor night" against "harbour at night"
# 0.58, one letter changed in a five-letter word ("beech") 0.5; different numbers such
# as "2020" against "2019" score 0.4.
NEAR_THRESHOLD = 0.5
# Set for the transaction: the index serves ``<%`` only with the threshold as a setting.
_SET_NEAR_THRESHOLD = text(
    "SELECT set_config('pg_trgm.word_similarity_threshold', :threshold, true)"
)
# Web-search syntax: a quote, a word starting with "-", or the word "or".
_OPERATORS = re.compile(r'"|(?:^|\s)-\S|(?:^|\s)or(?:\s|$)', re.IGNORECASE)
# A stretch between two words: spaces, signs, and the characters PostgreSQL's query parser
# skips or treats as operators (a superset of them, so a stretch never ends early).
_BETWEEN_WORDS = re.compile(r"""[\s\-"'!&|()<>:*]+""")
# The most "-" signs one stretch keeps as written. websearch_to_tsquery stacks a NOT for
# each "-" before a word, on a stack of 32 operators: 33 "-" in a row are refused with
# "tsquery stack too small" (an internal error, XX000). No query a person types has more
# than two in a row.
MAX_NEGATIONS = 8


@dataclass(frozen=True)
class TextHit:
    image_id: uuid.UUID
    rank: float


def near_phrase(query: str) -> str | None:
    """The query as matched for near matches (lower case, single spaces), or None when
    it uses web-search syntax or is too short for them."""
    if _OPERATORS.search(query):
        return None
    phrase = " ".join(query.lower().split())
    return phrase if len(phrase) >= MIN_NEAR_QUERY else None


def web_query(query: str) -> str:
    """``query`` as given to ``websearch_to_tsquery``: the same query, except that a
    stretch between words with more than ``MAX_NEGATIONS`` "-" signs keeps one or none
    (the same parity, so ``NOT NOT x`` stays ``x``), which PostgreSQL can always parse."""

    def bounded(match: re.Match[str]) -> str:
        stretch = match.group()
        signs = stretch.count("-")
        if signs <= MAX_NEGATIONS:
            return stretch
        kept = stretch.replace("-", "")
        # One sign left goes last in the stretch: right before the word it negates.
        return kept + "-" if signs % 2 else kept

    return _BETWEEN_WORDS.sub(bounded, query)


def _like_pattern(phrase: str) -> str:
    escaped = phrase.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def rank_text(
    session: AsyncSession,
    owner_id: uuid.UUID,
    query: str,
    candidates: Select[uuid.UUID],
    limit: int,
) -> list[TextHit]:
    """The best ``limit`` candidates matching ``query``: word matches by ``ts_rank_cd``,
    then near matches by similarity (see the module's notes)."""
    tsquery = func.websearch_to_tsquery(TEXT_CONFIG, web_query(query))
    words_match = SearchDocument.document.bool_op("@@")(tsquery)
    phrase = near_phrase(query)
    matches: ColumnElement[bool]
    similarity: ColumnElement[float]
    if phrase is None:
        matches = words_match
        similarity = literal(0.0, Float)
    else:
        await session.execute(_SET_NEAR_THRESHOLD, {"threshold": str(NEAR_THRESHOLD)})
        matches = or_(
            words_match,
            literal(phrase).bool_op("<%")(SearchDocument.words),
            SearchDocument.words.like(_like_pattern(phrase), escape="\\"),
        )
        similarity = func.word_similarity(phrase, SearchDocument.words)
    rank = case((words_match, func.ts_rank_cd(SearchDocument.document, tsquery)), else_=0.0)
    rows = await session.execute(
        select(SearchDocument.image_id, rank)
        .where(
            SearchDocument.owner_id == owner_id,
            matches,
            SearchDocument.image_id.in_(candidates),
        )
        .order_by(
            words_match.desc(), rank.desc(), similarity.desc(), SearchDocument.image_id.desc()
        )
        .limit(limit)
    )
    return [TextHit(image_id=image_id, rank=float(score)) for image_id, score in rows]
