"""Managing tags: create, rename, delete, and attach them to many images at once.

The naming rules and the per-image helpers live in ``services.image_tags`` (which uploads use);
this service is the tag library of the API. It is a module of its own because listing a
tag's images builds on ``services.images``, which itself imports ``services.image_tags``.

Tag names are words an image is found by, so every change of a tag's name or of the
images carrying it rebuilds those images' search documents in the same transaction.
Image counts leave out images in the trash, like the tag's image list.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ScalarSelect, Select, and_, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Image, ImageTag, Tag
from photostore.db.repositories.ownership import ensure_owned, load_owned
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.errors import Conflict, InvalidInput
from photostore.ids import new_id
from photostore.services.context import ServiceContext
from photostore.services.image_pages import image_page
from photostore.services.images import Page
from photostore.services.pagination import check_limit, decode_text_cursor, encode_text_cursor
from photostore.text_rules import clean_tag_names


@dataclass(frozen=True)
class TagView:
    tag: Tag
    image_count: int


@dataclass(frozen=True)
class TagPage:
    items: list[TagView]
    next_cursor: str | None


def _one_name(name: str) -> str:
    names = clean_tag_names([name])
    if not names:
        raise InvalidInput("a tag name must not be blank")
    return names[0]


class TagService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def page(self, owner_id: uuid.UUID, limit: int, cursor: str | None) -> TagPage:
        """The owner's tags by name (ignoring case), in keyset pages."""
        check_limit(limit)
        sort_key = func.lower(Tag.name)
        stmt = select(Tag, _image_count()).where(Tag.owner_id == owner_id)
        if cursor is not None:
            last_name, last_id = decode_text_cursor(cursor)
            stmt = stmt.where(tuple_(sort_key, Tag.id) > tuple_(last_name, last_id))
        stmt = stmt.order_by(sort_key, Tag.id).limit(limit + 1)
        async with self.ctx.db.for_user(owner_id) as session:
            rows = (await session.execute(stmt)).all()
        views = [TagView(tag=t, image_count=c) for t, c in rows[:limit]]
        last = views[-1].tag if len(rows) > limit else None
        return TagPage(
            items=views,
            next_cursor=encode_text_cursor(last.name.lower(), last.id) if last else None,
        )

    async def create(self, owner_id: uuid.UUID, name: str) -> TagView:
        """A new tag; Conflict if the owner has one of that name, ignoring case."""
        name = _one_name(name)
        async with self.ctx.db.for_user(owner_id) as session:
            created = await session.scalar(
                insert(Tag)
                .values(owner_id=owner_id, id=new_id(), name=name, created_at=self.ctx.clock())
                .on_conflict_do_nothing(index_elements=[Tag.owner_id, func.lower(Tag.name)])
                .returning(Tag.id)
            )
            if created is None:
                raise Conflict("a tag of that name exists")
            return await _view(session, await load_owned(session, Tag, owner_id, created, "tag"))

    async def rename(self, owner_id: uuid.UUID, tag_id: uuid.UUID, name: str) -> TagView:
        """Rename a tag (a change of case only is allowed); Conflict if the name is taken."""
        name = _one_name(name)
        async with self.ctx.db.for_user(owner_id) as session:
            tag = await load_owned(session, Tag, owner_id, tag_id, "tag", for_update=True)
            clash = await session.scalar(
                select(Tag.id).where(
                    Tag.owner_id == owner_id, func.lower(Tag.name) == name.lower(), Tag.id != tag_id
                )
            )
            if clash is not None:
                raise Conflict("a tag of that name exists")
            tag.name = name
            try:
                await session.flush()
            except IntegrityError as exc:  # a concurrent request took the name meanwhile
                raise Conflict("a tag of that name exists") from exc
            await refresh_search_documents(
                session, owner_id, await _tagged(session, owner_id, tag_id)
            )
            return await _view(session, tag)

    async def delete(self, owner_id: uuid.UUID, tag_id: uuid.UUID) -> None:
        """Delete a tag; the images stay, without it."""
        async with self.ctx.db.for_user(owner_id) as session:
            tag = await load_owned(session, Tag, owner_id, tag_id, "tag", for_update=True)
            image_ids = await _tagged(session, owner_id, tag_id)
            await session.delete(tag)
            await session.flush()
            await refresh_search_documents(session, owner_id, image_ids)

    async def add_images(
        self, owner_id: uuid.UUID, tag_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> TagView:
        """Tag the images; those already tagged stay as they are."""
        async with self.ctx.db.for_user(owner_id) as session:
            tag = await load_owned(session, Tag, owner_id, tag_id, "tag", for_update=True)
            await ensure_owned(session, "image", owner_id, image_ids)
            await session.execute(
                insert(ImageTag)
                .values(
                    [
                        {"owner_id": owner_id, "image_id": i, "tag_id": tag_id}
                        for i in set(image_ids)
                    ]
                )
                .on_conflict_do_nothing()
            )
            await refresh_search_documents(session, owner_id, image_ids)
            return await _view(session, tag)

    async def remove_images(
        self, owner_id: uuid.UUID, tag_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> TagView:
        """Untag the images; those not tagged stay as they are."""
        async with self.ctx.db.for_user(owner_id) as session:
            tag = await load_owned(session, Tag, owner_id, tag_id, "tag", for_update=True)
            await ensure_owned(session, "image", owner_id, image_ids)
            await session.execute(
                delete(ImageTag).where(
                    ImageTag.owner_id == owner_id,
                    ImageTag.tag_id == tag_id,
                    ImageTag.image_id.in_(set(image_ids)),
                )
            )
            await refresh_search_documents(session, owner_id, image_ids)
            return await _view(session, tag)

    async def images(
        self, owner_id: uuid.UUID, tag_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page:
        """Images carrying the tag, timeline order, none from the trash."""
        async with self.ctx.db.for_user(owner_id) as session:
            await load_owned(session, Tag, owner_id, tag_id, "tag")
            return await image_page(session, owner_id, _tagged_ids(owner_id, tag_id), limit, cursor)


def _image_count() -> ScalarSelect[int]:
    return (
        select(func.count())
        .select_from(ImageTag)
        .join(Image, and_(Image.owner_id == ImageTag.owner_id, Image.id == ImageTag.image_id))
        .where(
            ImageTag.owner_id == Tag.owner_id,
            ImageTag.tag_id == Tag.id,
            Image.trashed_at.is_(None),
        )
        .scalar_subquery()
    )


def _tagged_ids(owner_id: uuid.UUID, tag_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(ImageTag.image_id).where(ImageTag.owner_id == owner_id, ImageTag.tag_id == tag_id)


async def _tagged(session: AsyncSession, owner_id: uuid.UUID, tag_id: uuid.UUID) -> list[uuid.UUID]:
    return list(await session.scalars(_tagged_ids(owner_id, tag_id)))


async def _view(session: AsyncSession, tag: Tag) -> TagView:
    count = await session.scalar(
        select(_image_count()).where(Tag.owner_id == tag.owner_id, Tag.id == tag.id)
    )
    return TagView(tag=tag, image_count=count or 0)
