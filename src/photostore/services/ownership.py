"""Checks that ids sent by a caller name rows of that caller.

Another user's id anywhere in a request, in the path or inside a list in the body, is
answered exactly like an id that does not exist (404), and the whole request is refused
before anything is written, so a caller can neither change nor detect foreign rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from photostore.errors import NotFound


async def ensure_all_owned(
    session: AsyncSession,
    owner_column: InstrumentedAttribute[uuid.UUID],
    id_column: InstrumentedAttribute[uuid.UUID],
    owner_id: uuid.UUID,
    ids: Collection[uuid.UUID],
    noun: str,
) -> None:
    """Raise NotFound unless every one of ``ids`` is a row of ``owner_id``."""
    wanted = set(ids)
    if not wanted:
        return
    found = await session.scalar(
        select(func.count()).where(owner_column == owner_id, id_column.in_(wanted))
    )
    if found != len(wanted):
        raise NotFound(f"no such {noun}")
