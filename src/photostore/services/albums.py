"""Albums: named collections of a user's images; an image may be in many albums.

Deleting an album never deletes its images. Image counts leave out images in the trash,
like the album's image list.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from photostore.db.repositories.albums import AlbumRepository
from photostore.db.repositories.images import ImageRepository
from photostore.db.repositories.ownership import ensure_owned
from photostore.domain.albums import Album, AlbumChanges
from photostore.domain.images import InAlbum
from photostore.services.context import ServiceContext
from photostore.services.image_pages import Page, image_page
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor
from photostore.text_rules import check_description, clean_album_name


@dataclass(frozen=True)
class AlbumPage:
    items: list[Album]
    next_cursor: str | None


class AlbumService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(self, owner_id: uuid.UUID, name: str, description: str | None) -> Album:
        name = clean_album_name(name)
        check_description(description)
        now = self.ctx.clock()
        async with self.ctx.db.for_user(owner_id) as session:
            return await AlbumRepository(session, owner_id).add(name, description, now)

    async def get(self, owner_id: uuid.UUID, album_id: uuid.UUID) -> Album:
        async with self.ctx.db.for_user(owner_id) as session:
            return await AlbumRepository(session, owner_id).get(album_id)

    async def page(self, owner_id: uuid.UUID, limit: int, cursor: str | None) -> AlbumPage:
        """The owner's albums, newest first, in keyset pages."""
        check_limit(limit)
        after = decode_cursor(cursor) if cursor is not None else None
        async with self.ctx.db.for_user(owner_id) as session:
            albums = await AlbumRepository(session, owner_id).page(after, limit)
        last = albums.items[-1] if albums.more else None
        return AlbumPage(
            items=albums.items,
            next_cursor=encode_cursor(last.created_at, last.id) if last is not None else None,
        )

    async def update(
        self, owner_id: uuid.UUID, album_id: uuid.UUID, changes: AlbumChanges
    ) -> Album:
        """Rename the album or change (null clears) its description."""
        if "name" in changes.fields:
            changes = replace(changes, name=clean_album_name(changes.name))
        if "description" in changes.fields:
            check_description(changes.description)
        async with self.ctx.db.for_user(owner_id) as session:
            repository = AlbumRepository(session, owner_id)
            if not changes.fields:
                return await repository.get(album_id)
            return await repository.update(album_id, changes, self.ctx.clock())

    async def delete(self, owner_id: uuid.UUID, album_id: uuid.UUID) -> None:
        """Delete the album; its images stay."""
        async with self.ctx.db.for_user(owner_id) as session:
            await AlbumRepository(session, owner_id).delete(album_id)

    async def add_images(
        self, owner_id: uuid.UUID, album_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> Album:
        """Put the images in the album; those already in it stay as they are."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "album", owner_id, [album_id], for_update=True)
            await ensure_owned(session, "image", owner_id, image_ids)
            repository = AlbumRepository(session, owner_id)
            now = self.ctx.clock()
            await repository.add_images(album_id, image_ids, now)
            return await repository.touch(album_id, now)

    async def remove_images(
        self, owner_id: uuid.UUID, album_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> Album:
        """Take the images out of the album; those not in it stay as they are."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "album", owner_id, [album_id], for_update=True)
            await ensure_owned(session, "image", owner_id, image_ids)
            repository = AlbumRepository(session, owner_id)
            await repository.remove_images(album_id, image_ids)
            return await repository.touch(album_id, self.ctx.clock())

    async def images(
        self, owner_id: uuid.UUID, album_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page:
        """Images in the album, timeline order, none from the trash."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "album", owner_id, [album_id])
            images = ImageRepository(session, owner_id)
            return await image_page(images, InAlbum(album_id), limit, cursor)
