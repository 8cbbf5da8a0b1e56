"""Checks that ids sent by a caller name rows of that caller.

Another user's id anywhere in a request, in the path or inside a list in the body, is
answered exactly like an id that does not exist (404), and the whole request is refused
before anything is written, so a caller can neither change nor detect foreign rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Literal, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Album, Face, Image, Person, Tag
from photostore.errors import NotFound

#: What a caller's id may name; also the noun of the 404 ("no such image").
OwnedKind = Literal["album", "face", "image", "person", "tag"]

OwnedModel = TypeVar("OwnedModel", Album, Face, Image, Person, Tag)

_MODELS: dict[OwnedKind, type[Album | Face | Image | Person | Tag]] = {
    "album": Album,
    "face": Face,
    "image": Image,
    "person": Person,
    "tag": Tag,
}


async def ensure_owned(
    session: AsyncSession,
    kind: OwnedKind,
    owner_id: uuid.UUID,
    ids: Collection[uuid.UUID],
    *,
    for_update: bool = False,
) -> None:
    """Raise NotFound unless every one of ``ids`` names a ``kind`` row of ``owner_id``;
    with ``for_update``, the rows stay locked to the end of the transaction."""
    wanted = set(ids)
    if not wanted:
        return
    model = _MODELS[kind]
    owned = (model.owner_id == owner_id) & model.id.in_(wanted)
    if for_update:
        locked = select(model.id).where(owned).with_for_update().subquery()
        found = await session.scalar(select(func.count()).select_from(locked))
    else:
        found = await session.scalar(select(func.count()).where(owned))
    if found != len(wanted):
        raise NotFound(f"no such {kind}")


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
