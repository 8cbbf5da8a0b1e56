"""Pages of images in timeline order: the timeline's, and those of the images that belong
to something (a tag, an album, a person).

These lists follow the timeline's rules: newest ``taken_at`` first, ties broken by id,
keyset cursors of ``services.pagination``; the lists of a tag, an album or a person
leave out images in the trash.
"""

from __future__ import annotations

from dataclasses import dataclass

from photostore.db.repositories.images import ImageRepository
from photostore.domain.images import ImageView, Membership
from photostore.domain.pages import Slice
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor


@dataclass(frozen=True)
class Page:
    items: list[ImageView]
    next_cursor: str | None


def page_of(images: Slice[ImageView]) -> Page:
    """The page of ``images``, with the cursor of its last image when more follow."""
    last = images.items[-1].image if images.more else None
    return Page(
        items=images.items,
        next_cursor=encode_cursor(last.taken_at, last.id) if last is not None else None,
    )


async def image_page(
    images: ImageRepository, membership: Membership, limit: int, cursor: str | None
) -> Page:
    """One page of the images of ``membership`` (the repository's owner's), not trashed."""
    check_limit(limit)
    after = decode_cursor(cursor) if cursor is not None else None
    return page_of(await images.members(membership, after, limit))
