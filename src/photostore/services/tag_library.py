"""Managing tags: create, rename, delete, and attach them to many images at once.

This service is the tag library of the API. The per-image statements that uploads and
image edits use (``set_image_tags``, ``image_tag_names``) live with the tag library's own
in ``db.repositories.tags``; listing a tag's images builds on ``services.image_pages``.

Tag names are words an image is found by, so every change of a tag's name or of the
images carrying it rebuilds those images' search documents in the same transaction.
Image counts leave out images in the trash, like the tag's image list.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from photostore.db.repositories.images import ImageRepository
from photostore.db.repositories.ownership import ensure_owned
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.db.repositories.tags import TagRepository
from photostore.domain.images import TaggedWith
from photostore.domain.tags import Tag
from photostore.errors import Conflict, InvalidInput
from photostore.services.context import ServiceContext
from photostore.services.image_pages import Page, image_page
from photostore.services.pagination import check_limit, decode_text_cursor, encode_text_cursor
from photostore.text_rules import clean_tag_names


@dataclass(frozen=True)
class TagPage:
    items: list[Tag]
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
        after = decode_text_cursor(cursor) if cursor is not None else None
        async with self.ctx.db.for_user(owner_id) as session:
            tags = await TagRepository(session, owner_id).page(after, limit)
        last = tags.items[-1] if tags.more else None
        return TagPage(
            items=tags.items,
            next_cursor=encode_text_cursor(last.name.lower(), last.id) if last else None,
        )

    async def create(self, owner_id: uuid.UUID, name: str) -> Tag:
        """A new tag; Conflict if the owner has one of that name, ignoring case."""
        name = _one_name(name)
        async with self.ctx.db.for_user(owner_id) as session:
            created = await TagRepository(session, owner_id).add(name, self.ctx.clock())
            if created is None:
                raise Conflict("a tag of that name exists")
            return created

    async def rename(self, owner_id: uuid.UUID, tag_id: uuid.UUID, name: str) -> Tag:
        """Rename a tag (a change of case only is allowed); Conflict if the name is taken."""
        name = _one_name(name)
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "tag", owner_id, [tag_id], for_update=True)
            repository = TagRepository(session, owner_id)
            if await repository.name_taken(name, but=tag_id):
                raise Conflict("a tag of that name exists")
            tag = await repository.rename(tag_id, name)
            await refresh_search_documents(session, owner_id, await repository.tagged(tag_id))
            return tag

    async def delete(self, owner_id: uuid.UUID, tag_id: uuid.UUID) -> None:
        """Delete a tag; the images stay, without it."""
        async with self.ctx.db.for_user(owner_id) as session:
            # Locked first, so that no image is tagged between reading the images and the
            # delete: each of them loses the tag's name from its search document.
            await ensure_owned(session, "tag", owner_id, [tag_id], for_update=True)
            repository = TagRepository(session, owner_id)
            image_ids = await repository.tagged(tag_id)
            await repository.delete(tag_id)
            await refresh_search_documents(session, owner_id, image_ids)

    async def add_images(
        self, owner_id: uuid.UUID, tag_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> Tag:
        """Tag the images; those already tagged stay as they are."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "tag", owner_id, [tag_id], for_update=True)
            await ensure_owned(session, "image", owner_id, image_ids)
            repository = TagRepository(session, owner_id)
            await repository.add_images(tag_id, image_ids)
            await refresh_search_documents(session, owner_id, image_ids)
            return await repository.get(tag_id)

    async def remove_images(
        self, owner_id: uuid.UUID, tag_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> Tag:
        """Untag the images; those not tagged stay as they are."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "tag", owner_id, [tag_id], for_update=True)
            await ensure_owned(session, "image", owner_id, image_ids)
            repository = TagRepository(session, owner_id)
            await repository.remove_images(tag_id, image_ids)
            await refresh_search_documents(session, owner_id, image_ids)
            return await repository.get(tag_id)

    async def images(
        self, owner_id: uuid.UUID, tag_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page:
        """Images carrying the tag, timeline order, none from the trash."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "tag", owner_id, [tag_id])
            images = ImageRepository(session, owner_id)
            return await image_page(images, TaggedWith(tag_id), limit, cursor)
