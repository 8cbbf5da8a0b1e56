"""Checks that ids sent by a caller name rows of that caller.

Another user's id anywhere in a request, in the path or inside a list in the body, is
answered exactly like an id that does not exist (404), and the whole request is refused
before anything is written, so a caller can neither change nor detect foreign rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from photostore.db.models import Album, Face, Image, Person, Tag
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


OwnedModel = TypeVar("OwnedModel", Album, Face, Image, Person, Tag)


async def load_owned(
    session: AsyncSession,
    model: type[OwnedModel],
    owner_id: uuid.UUID,
    row_id: uuid.UUID,
    noun: str,
    *,
    for_update: bool = False,
) -> OwnedModel:
    """The row ``row_id`` of ``owner_id`` (locked with ``for_update``); NotFound if not theirs."""
    stmt = select(model).where(model.owner_id == owner_id, model.id == row_id)
    if for_update:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt)
    if row is None:
        raise NotFound(f"no such {noun}")
    return row
