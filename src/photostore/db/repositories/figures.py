"""Service-wide figures an admin reads, one user's share at a time (``services.admin``)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Image


async def image_totals(session: AsyncSession, owner_id: uuid.UUID) -> tuple[int, int]:
    """How many images ``owner_id`` holds, and the bytes of their originals."""
    count, size = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Image.byte_size), 0)).where(
                Image.owner_id == owner_id
            )
        )
    ).one()
    return int(count), int(size)
