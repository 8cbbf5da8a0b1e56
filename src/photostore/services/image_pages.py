"""Pages of images that belong to something (a tag, an album, a person), timeline order.

These lists follow the timeline's rules: newest ``taken_at`` first, ties broken by id,
keyset cursors of ``services.pagination``, images in the trash left out.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Image
from photostore.services.images import Page, read_views
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor


async def image_page(
    session: AsyncSession,
    owner_id: uuid.UUID,
    member_ids: Select[uuid.UUID],
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of ``owner_id``'s images whose ids ``member_ids`` selects, not trashed."""
    check_limit(limit)
    stmt = select(Image).where(
        Image.owner_id == owner_id, Image.trashed_at.is_(None), Image.id.in_(member_ids)
    )
    if cursor is not None:
        taken_at, last_id = decode_cursor(cursor)
        stmt = stmt.where(tuple_(Image.taken_at, Image.id) < tuple_(taken_at, last_id))
    stmt = stmt.order_by(Image.taken_at.desc(), Image.id.desc()).limit(limit + 1)
    views = await read_views(session, owner_id, stmt)
    more = len(views) > limit
    items = views[:limit]
    last = items[-1].image if more else None
    return Page(
        items=items,
        next_cursor=encode_cursor(last.taken_at, last.id) if last is not None else None,
    )
