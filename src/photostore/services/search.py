"""Search inside one user's photos: filters, full text, vector similarity, fused.

Modes, by what the request holds:

* filters only: the matching images in timeline order (newest ``taken_at`` first),
  keyset-paged like the timeline; ``score`` is 0.
* text: images whose search document matches, best ``ts_rank_cd`` first.
* vector (given values, or "like image X"): nearest first, ``score`` = -distance.
* text and vector: reciprocal rank fusion of both rankings (``search.fusion``).

Ranked modes page by position (at most ``MAX_RANKED_RESULTS`` deep) with a cursor bound
to the request it came from. Every query runs inside the caller's RLS transaction and
filters by owner; trashed images are never returned.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from photostore.db.repositories.image_views import read_views, views_by_ids
from photostore.db.repositories.ownership import ensure_owned
from photostore.db.search.filters import candidate_images, filtered_page
from photostore.db.search.nearest import NearestReads
from photostore.db.search.spaces import SpaceRepository
from photostore.db.search.text import TextReads
from photostore.db.search.vectors import VectorRepository
from photostore.domain.embeddings import SpaceRef
from photostore.domain.images import ImageView
from photostore.domain.search import SearchFilters
from photostore.errors import BadRequest, InvalidInput
from photostore.search.fusion import reciprocal_rank_fusion
from photostore.search.planner import nearest
from photostore.search.text import rank_text
from photostore.services.context import ServiceContext
from photostore.services.pagination import (
    check_limit,
    decode_cursor,
    decode_cursor_json,
    encode_cursor,
)

MAX_SEARCH_PAGE_SIZE = 100
# One more than this is asked of each ranking, to know whether a next page exists; the
# vector planner answers at most 1,000 neighbours.
MAX_RANKED_RESULTS = 500
MAX_TEXT_LENGTH = 500


@dataclass(frozen=True)
class VectorQuery:
    """Similarity in ``space`` to ``values``, or to the vector of image ``like_image``."""

    space: str
    values: tuple[float, ...] | None = None
    like_image: uuid.UUID | None = None


@dataclass(frozen=True)
class SearchRequest:
    filters: SearchFilters = field(default_factory=SearchFilters)
    text: str | None = None
    vector: VectorQuery | None = None
    limit: int = 20
    cursor: str | None = None


@dataclass(frozen=True)
class SearchHit:
    view: ImageView
    score: float
    distance: float | None = None
    text_rank: float | None = None


@dataclass(frozen=True)
class SearchPage:
    items: list[SearchHit]
    next_cursor: str | None


@dataclass(frozen=True)
class _Ranked:
    image_id: uuid.UUID
    score: float
    distance: float | None = None
    text_rank: float | None = None


@dataclass(frozen=True)
class _VectorQuery:
    """A vector query resolved in the caller's transaction: its space, its values, and
    the image it was taken from (never an answer)."""

    space: SpaceRef
    values: Sequence[float]
    excluded: tuple[uuid.UUID, ...]


class SearchService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def search(self, owner_id: uuid.UUID, request: SearchRequest) -> SearchPage:
        _validate(request)
        async with self.ctx.db.for_user(owner_id, ends_request=True) as session:
            # Albums and people named in filters must be the caller's: another's id is a 404.
            await ensure_owned(session, "album", owner_id, request.filters.albums)
            await ensure_owned(session, "person", owner_id, request.filters.people)
            if request.text is None and request.vector is None:
                after = decode_cursor(request.cursor) if request.cursor is not None else None
                rows = filtered_page(owner_id, request.filters, after, request.limit + 1)
                return _browse_page(await read_views(session, owner_id, rows), request.limit)
            offset = _ranked_offset(request)
            depth = offset + request.limit
            if depth > MAX_RANKED_RESULTS:
                raise InvalidInput(f"ranked results stop after {MAX_RANKED_RESULTS}")
            vector = None
            if request.vector is not None:
                space = await SpaceRepository(session, owner_id).by_name(request.vector.space)
                if request.vector.like_image is not None:
                    await ensure_owned(session, "image", owner_id, [request.vector.like_image])
                vector = await _resolve(VectorRepository(session, space), request.vector)
            ranked = await self._rank(
                TextReads(session, owner_id),
                NearestReads(session, owner_id),
                vector,
                request,
                depth + 1,
            )
            page = ranked[offset:depth]
            views = await views_by_ids(session, owner_id, [r.image_id for r in page])
        items = [
            SearchHit(
                view=views[r.image_id], score=r.score, distance=r.distance, text_rank=r.text_rank
            )
            for r in page
            if r.image_id in views
        ]
        more = len(ranked) > depth
        return SearchPage(items=items, next_cursor=_ranked_cursor(request, depth) if more else None)

    async def _rank(
        self,
        text: TextReads,
        vectors: NearestReads,
        vector: _VectorQuery | None,
        request: SearchRequest,
        depth: int,
    ) -> list[_Ranked]:
        candidates = candidate_images(vectors.owner_id, request.filters)
        # No filter: let the vector engine take all the owner's live images its own way
        # (it excludes the trash) instead of listing every id.
        vector_candidates = None if request.filters.is_empty else candidates
        taken = request.filters.taken_range_only
        text_hits = (
            await rank_text(text, request.text, candidates, depth)
            if request.text is not None
            else None
        )
        vector_hits = (
            await nearest(
                vectors,
                vector.space,
                vector.values,
                depth,
                vector_candidates,
                exclude_image_ids=vector.excluded,
                cache=self.ctx.vector_cache,
                taken=taken,
            )
            if vector is not None
            else None
        )
        if vector_hits is None:
            assert text_hits is not None
            return [_Ranked(h.image_id, h.rank, text_rank=h.rank) for h in text_hits]
        if text_hits is None:
            return [_Ranked(h.image_id, -h.distance, distance=h.distance) for h in vector_hits]
        distances = {h.image_id: h.distance for h in vector_hits}
        ranks = {h.image_id: h.rank for h in text_hits}
        fused = reciprocal_rank_fusion(
            [[h.image_id for h in text_hits], [h.image_id for h in vector_hits]]
        )
        return [
            _Ranked(
                image_id, score, distance=distances.get(image_id), text_rank=ranks.get(image_id)
            )
            for image_id, score in fused[:depth]
        ]


async def _resolve(vectors: VectorRepository, query: VectorQuery) -> _VectorQuery:
    """The query's values: given, or the stored vector of ``like_image`` (whose ownership
    the caller checked), which is then left out of the answer."""
    space = vectors.space
    if query.like_image is None:
        assert query.values is not None  # _validate guarantees values or like_image
        return _VectorQuery(space, query.values, ())
    values = await vectors.values_of(query.like_image)
    if values is None:
        raise InvalidInput(f"image {query.like_image} has no vector in space {space.name!r}")
    return _VectorQuery(space, values, (query.like_image,))


def _browse_page(views: list[ImageView], limit: int) -> SearchPage:
    """A page of the filters-only mode from ``limit + 1`` views in timeline order."""
    more = len(views) > limit
    items = [SearchHit(view=view, score=0.0) for view in views[:limit]]
    last = items[-1].view.image if more else None
    return SearchPage(
        items=items,
        next_cursor=encode_cursor(last.taken_at, last.id) if last is not None else None,
    )


def _validate(request: SearchRequest) -> None:
    check_limit(request.limit, MAX_SEARCH_PAGE_SIZE)
    if request.text is not None and not request.text.strip():
        raise InvalidInput("text must not be blank")
    if request.text is not None and len(request.text) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"text must be at most {MAX_TEXT_LENGTH} characters")
    vector = request.vector
    if vector is not None and (vector.values is None) == (vector.like_image is None):
        raise InvalidInput("a vector query needs exactly one of values and like_image")


def _fingerprint(request: SearchRequest) -> str:
    """What a ranked cursor is bound to: the request without its paging.

    A query vector enters as its float64 bytes: the same vector, the same digest, without
    printing hundreds of floats as text.
    """
    digest = hashlib.sha256()
    vector = request.vector
    if vector is not None and vector.values is not None:
        digest.update(np.asarray(vector.values, dtype=np.float64).tobytes())
        vector = replace(vector, values=())
    body = asdict(replace(request, vector=vector, cursor=None, limit=0))
    digest.update(json.dumps(body, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _ranked_cursor(request: SearchRequest, offset: int) -> str:
    raw = json.dumps({"o": offset, "f": _fingerprint(request)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _ranked_offset(request: SearchRequest) -> int:
    if request.cursor is None:
        return 0
    invalid = BadRequest("the cursor does not belong to this search; start again without one")
    try:
        body = decode_cursor_json(request.cursor)
    except ValueError as exc:
        raise invalid from exc
    if not isinstance(body, dict):
        raise invalid
    offset, fingerprint = body.get("o"), body.get("f")
    # bool is an int to Python, never an offset of ours.
    if not isinstance(offset, int) or isinstance(offset, bool) or not isinstance(fingerprint, str):
        raise invalid
    if fingerprint != _fingerprint(request) or not 0 < offset <= MAX_RANKED_RESULTS:
        raise invalid
    return offset
