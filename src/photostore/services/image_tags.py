"""Tags of images: names unique per user ignoring case, attached to many images."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, String, delete, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Image, ImageTag, Tag
from photostore.ids import new_id


async def ensure_tags(
    session: AsyncSession, owner_id: uuid.UUID, names: Sequence[str]
) -> list[uuid.UUID]:
    """The ids of the tags ``names``, creating those the user does not have yet."""
    if not names:
        return []
    await session.execute(
        insert(Tag)
        .values([{"owner_id": owner_id, "id": new_id(), "name": n} for n in names])
        .on_conflict_do_nothing(index_elements=[Tag.owner_id, func.lower(Tag.name)])
    )
    rows = await session.execute(
        select(Tag.id).where(
            Tag.owner_id == owner_id, func.lower(Tag.name).in_([n.lower() for n in names])
        )
    )
    return list(rows.scalars())


async def set_image_tags(
    session: AsyncSession, owner_id: uuid.UUID, image_id: uuid.UUID, names: Sequence[str]
) -> None:
    """Make ``names`` exactly the tags of the image."""
    tag_ids = await ensure_tags(session, owner_id, names)
    await session.execute(
        delete(ImageTag).where(ImageTag.owner_id == owner_id, ImageTag.image_id == image_id)
    )
    if tag_ids:
        await session.execute(
            insert(ImageTag)
            .values([{"owner_id": owner_id, "image_id": image_id, "tag_id": t} for t in tag_ids])
            .on_conflict_do_nothing()
        )


def image_tag_names(owner_id: uuid.UUID | ColumnElement[uuid.UUID]) -> ColumnElement[list[str]]:
    """The tag names of ``Image`` sorted by name, as a column of a query of images.

    A page of images then reads its tags in the same statement as the rows.
    """
    names = (
        select(Tag.name)
        .join(ImageTag, (ImageTag.owner_id == Tag.owner_id) & (ImageTag.tag_id == Tag.id))
        .where(ImageTag.owner_id == owner_id, ImageTag.image_id == Image.id)
        .order_by(func.lower(Tag.name))
        .correlate(Image)
        .scalar_subquery()
    )
    return func.array(names, type_=ARRAY(String))
