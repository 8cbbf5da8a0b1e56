"""The rows of ``tags`` and ``image_tags``: one owner's tags, in the transaction of the
caller. Names are unique per owner ignoring case (the index ``uq_tags_owner_id_name``).

Tag names are words an image is found by: a caller that changes a tag's name or the
images carrying it rebuilds those images' search documents in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    String,
    and_,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.db.repositories.image_counts import untrashed_image_count
from photostore.db.repositories.keyset import keyset_page
from photostore.domain.pages import Slice
from photostore.domain.tags import Tag
from photostore.errors import Conflict, NotFound
from photostore.ids import new_id

_COLUMNS = (
    models.Tag.id,
    models.Tag.name,
    untrashed_image_count(models.ImageTag, models.ImageTag.tag_id, models.Tag).label("image_count"),
    models.Tag.created_at,
)


class TagRepository:
    """Tags of one owner, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def page(self, after: tuple[str, uuid.UUID] | None, limit: int) -> Slice[Tag]:
        """Up to ``limit`` tags after the (lower-case name, id) ``after``, by name ignoring
        case."""
        return await keyset_page(
            self._session,
            select(*_COLUMNS).where(models.Tag.owner_id == self._owner_id),
            func.lower(models.Tag.name),
            models.Tag.id,
            after,
            limit,
            _tag,
        )

    async def add(self, name: str, created_at: datetime) -> Tag | None:
        """Store a new tag; None if the owner has one of that name, ignoring case."""
        row = (
            await self._session.execute(
                insert(models.Tag)
                .values(owner_id=self._owner_id, id=new_id(), name=name, created_at=created_at)
                .on_conflict_do_nothing(
                    index_elements=[models.Tag.owner_id, func.lower(models.Tag.name)]
                )
                .returning(models.Tag.id, models.Tag.name, models.Tag.created_at)
            )
        ).one_or_none()
        if row is None:
            return None
        return Tag(id=row.id, name=row.name, image_count=0, created_at=row.created_at)

    async def get(self, tag_id: uuid.UUID) -> Tag:
        """The tag; NotFound if it is not the owner's."""
        row = (await self._session.execute(select(*_COLUMNS).where(self._is(tag_id)))).one_or_none()
        if row is None:
            raise NotFound("no such tag")
        return _tag(row._mapping)

    async def name_taken(self, name: str, but: uuid.UUID) -> bool:
        """Whether a tag of the owner other than ``but`` is called ``name``, ignoring case."""
        clash = await self._session.scalar(
            select(models.Tag.id).where(
                models.Tag.owner_id == self._owner_id,
                func.lower(models.Tag.name) == name.lower(),
                models.Tag.id != but,
            )
        )
        return clash is not None

    async def rename(self, tag_id: uuid.UUID, name: str) -> Tag:
        """Call the tag ``name``; NotFound if it is not the owner's, Conflict if another
        tag of the owner holds the name."""
        try:
            row = (
                await self._session.execute(
                    update(models.Tag)
                    .where(self._is(tag_id))
                    .values(name=name)
                    .returning(*_COLUMNS)
                )
            ).one_or_none()
        except IntegrityError as exc:  # a concurrent request took the name meanwhile
            raise Conflict("a tag of that name exists") from exc
        if row is None:
            raise NotFound("no such tag")
        return _tag(row._mapping)

    async def delete(self, tag_id: uuid.UUID) -> None:
        """Delete the tag (its images stay, without it); NotFound if not the owner's."""
        deleted = await self._session.scalar(
            delete(models.Tag).where(self._is(tag_id)).returning(models.Tag.id)
        )
        if deleted is None:
            raise NotFound("no such tag")

    async def add_images(self, tag_id: uuid.UUID, image_ids: Collection[uuid.UUID]) -> None:
        """Tag the images (the owner's, checked by the caller); those already tagged stay
        as they are."""
        await self._session.execute(
            insert(models.ImageTag)
            .values(
                [
                    {"owner_id": self._owner_id, "image_id": i, "tag_id": tag_id}
                    for i in set(image_ids)
                ]
            )
            .on_conflict_do_nothing()
        )

    async def remove_images(self, tag_id: uuid.UUID, image_ids: Collection[uuid.UUID]) -> None:
        """Untag the images; those not tagged stay as they are."""
        await self._session.execute(
            delete(models.ImageTag).where(
                models.ImageTag.owner_id == self._owner_id,
                models.ImageTag.tag_id == tag_id,
                models.ImageTag.image_id.in_(set(image_ids)),
            )
        )

    async def tagged(self, tag_id: uuid.UUID) -> list[uuid.UUID]:
        """The ids of the images carrying the tag, trashed ones too."""
        return list(await self._session.scalars(tag_image_ids(self._owner_id, tag_id)))

    def _is(self, tag_id: uuid.UUID) -> ColumnElement[bool]:
        return and_(models.Tag.owner_id == self._owner_id, models.Tag.id == tag_id)


def _tag(row: RowMapping) -> Tag:
    return Tag(**row)


def tag_image_ids(owner_id: uuid.UUID, tag_id: uuid.UUID) -> Select[uuid.UUID]:
    """The ids of the images carrying the tag, as a subquery for a page of images."""
    return select(models.ImageTag.image_id).where(
        models.ImageTag.owner_id == owner_id, models.ImageTag.tag_id == tag_id
    )


async def ensure_tags(
    session: AsyncSession, owner_id: uuid.UUID, names: Sequence[str]
) -> list[uuid.UUID]:
    """The ids of the tags ``names``, creating those the user does not have yet."""
    if not names:
        return []
    await session.execute(
        insert(models.Tag)
        .values([{"owner_id": owner_id, "id": new_id(), "name": n} for n in names])
        .on_conflict_do_nothing(index_elements=[models.Tag.owner_id, func.lower(models.Tag.name)])
    )
    rows = await session.execute(
        select(models.Tag.id).where(
            models.Tag.owner_id == owner_id,
            func.lower(models.Tag.name).in_([n.lower() for n in names]),
        )
    )
    return list(rows.scalars())


async def set_image_tags(
    session: AsyncSession, owner_id: uuid.UUID, image_id: uuid.UUID, names: Sequence[str]
) -> None:
    """Make ``names`` exactly the tags of the image."""
    tag_ids = await ensure_tags(session, owner_id, names)
    await session.execute(
        delete(models.ImageTag).where(
            models.ImageTag.owner_id == owner_id, models.ImageTag.image_id == image_id
        )
    )
    if tag_ids:
        await session.execute(
            insert(models.ImageTag)
            .values([{"owner_id": owner_id, "image_id": image_id, "tag_id": t} for t in tag_ids])
            .on_conflict_do_nothing()
        )


def image_tag_names(owner_id: uuid.UUID | ColumnElement[uuid.UUID]) -> ColumnElement[list[str]]:
    """The tag names of ``Image`` sorted by name, as a column of a query of images.

    A page of images then reads its tags in the same statement as the rows.
    """
    names = (
        select(models.Tag.name)
        .join(
            models.ImageTag,
            (models.ImageTag.owner_id == models.Tag.owner_id)
            & (models.ImageTag.tag_id == models.Tag.id),
        )
        .where(models.ImageTag.owner_id == owner_id, models.ImageTag.image_id == models.Image.id)
        .order_by(func.lower(models.Tag.name))
        .correlate(models.Image)
        .scalar_subquery()
    )
    return func.array(names, type_=ARRAY(String))
