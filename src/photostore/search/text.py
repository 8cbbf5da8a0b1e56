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

Both are answered through owner-scoped indexes (``search_documents``' GIN indexes), by the
statement of ``db.search.text``.
"""

from __future__ import annotations

import re

from photostore.db.search.filters import Candidates
from photostore.db.search.text import TextReads
from photostore.domain.search import TextHit

# Trigrams need three characters; a shorter query has no near matches worth the scan.
MIN_NEAR_QUERY = 3
# The least word similarity of a near match. pg_trgm's default, 0.6, misses common typos:
# a swapped pair in "lighthouse" scores 0.55, "harbor night" against "harbour at night"
# 0.58, one letter changed in a five-letter word ("beech") 0.5; different numbers such
# as "2020" against "2019" score 0.4.
NEAR_THRESHOLD = 0.5
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


async def rank_text(
    reads: TextReads, query: str, candidates: Candidates, limit: int
) -> list[TextHit]:
    """The best ``limit`` candidates matching ``query``: word matches by ``ts_rank_cd``,
    then near matches by similarity (see the module's notes)."""
    phrase = near_phrase(query)
    return await reads.matches(web_query(query), phrase, NEAR_THRESHOLD, candidates, limit)
