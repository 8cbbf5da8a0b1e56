"""Albums: named collections of a user's images; an image may be in many albums.

Deleting an album never deletes its images. Image counts leave out images in the trash,
like the album's image list.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ScalarSelect, and_, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Album, AlbumImage, Image
from photostore.db.repositories.ownership import ensure_owned, load_owned
from photostore.ids import new_id
from photostore.services.context import ServiceContext
from photostore.services.image_pages import image_page
from photostore.services.images import Page
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor
from photostore.text_rules import check_description, clean_album_name


@dataclass(frozen=True)
class AlbumView:
    album: Album
    image_count: int


@dataclass(frozen=True)
class AlbumPage:
    items: list[AlbumView]
    next_cursor: str | None


@dataclass(frozen=True)
class AlbumChanges:
    """What a PATCH may change; only the names in ``fields`` are applied."""

    fields: frozenset[str]
    name: str | None = None
    description: str | None = None


class AlbumService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(self, owner_id: uuid.UUID, name: str, description: str | None) -> AlbumView:
        name = clean_album_name(name)
        check_description(description)
        now = self.ctx.clock()
        album = Album(
            owner_id=owner_id,
            id=new_id(),
            name=name,
            description=description,
            created_at=now,
            updated_at=now,
        )
        async with self.ctx.db.for_user(owner_id) as session:
            session.add(album)
            await session.flush()
        return AlbumView(album=album, image_count=0)

    async def get(self, owner_id: uuid.UUID, album_id: uuid.UUID) -> AlbumView:
        async with self.ctx.db.for_user(owner_id) as session:
            return await _view(
                session, await load_owned(session, Album, owner_id, album_id, "album")
            )

    async def page(self, owner_id: uuid.UUID, limit: int, cursor: str | None) -> AlbumPage:
        """The owner's albums, newest first, in keyset pages."""
        check_limit(limit)
        stmt = select(Album, _image_count()).where(Album.owner_id == owner_id)
        if cursor is not None:
            created_at, last_id = decode_cursor(cursor)
            stmt = stmt.where(tuple_(Album.created_at, Album.id) < tuple_(created_at, last_id))
        stmt = stmt.order_by(Album.created_at.desc(), Album.id.desc()).limit(limit + 1)
        async with self.ctx.db.for_user(owner_id) as session:
            rows = (await session.execute(stmt)).all()
        views = [AlbumView(album=a, image_count=c) for a, c in rows[:limit]]
        last = views[-1].album if len(rows) > limit else None
        return AlbumPage(
            items=views,
            next_cursor=encode_cursor(last.created_at, last.id) if last is not None else None,
        )

    async def update(
        self, owner_id: uuid.UUID, album_id: uuid.UUID, changes: AlbumChanges
    ) -> AlbumView:
        """Rename the album or change (null clears) its description."""
        name = clean_album_name(changes.name) if "name" in changes.fields else None
        if "description" in changes.fields:
            check_description(changes.description)
        async with self.ctx.db.for_user(owner_id) as session:
            album = await load_owned(session, Album, owner_id, album_id, "album", for_update=True)
            if name is not None:
                album.name = name
            if "description" in changes.fields:
                album.description = changes.description
            if changes.fields:
                album.updated_at = self.ctx.clock()
            await session.flush()
            return await _view(session, album)

    async def delete(self, owner_id: uuid.UUID, album_id: uuid.UUID) -> None:
        """Delete the album; its images stay."""
        async with self.ctx.db.for_user(owner_id) as session:
            await session.delete(
                await load_owned(session, Album, owner_id, album_id, "album", for_update=True)
            )

    async def add_images(
        self, owner_id: uuid.UUID, album_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> AlbumView:
        """Put the images in the album; those already in it stay as they are."""
        async with self.ctx.db.for_user(owner_id) as session:
            album = await load_owned(session, Album, owner_id, album_id, "album", for_update=True)
            await ensure_owned(session, "image", owner_id, image_ids)
            now = self.ctx.clock()
            await session.execute(
                insert(AlbumImage)
                .values(
                    [
                        {"owner_id": owner_id, "album_id": album_id, "image_id": i, "added_at": now}
                        for i in set(image_ids)
                    ]
                )
                .on_conflict_do_nothing()
            )
            album.updated_at = now
            await session.flush()
            return await _view(session, album)

    async def remove_images(
        self, owner_id: uuid.UUID, album_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> AlbumView:
        """Take the images out of the album; those not in it stay as they are."""
        async with self.ctx.db.for_user(owner_id) as session:
            album = await load_owned(session, Album, owner_id, album_id, "album", for_update=True)
            await ensure_owned(session, "image", owner_id, image_ids)
            await session.execute(
                delete(AlbumImage).where(
                    AlbumImage.owner_id == owner_id,
                    AlbumImage.album_id == album_id,
                    AlbumImage.image_id.in_(set(image_ids)),
                )
            )
            album.updated_at = self.ctx.clock()
            await session.flush()
            return await _view(session, album)

    async def images(
        self, owner_id: uuid.UUID, album_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page:
        """Images in the album, timeline order, none from the trash."""
        async with self.ctx.db.for_user(owner_id) as session:
            await load_owned(session, Album, owner_id, album_id, "album")
            members = select(AlbumImage.image_id).where(
                AlbumImage.owner_id == owner_id, AlbumImage.album_id == album_id
            )
            return await image_page(session, owner_id, members, limit, cursor)


def _image_count() -> ScalarSelect[int]:
    return (
        select(func.count())
        .select_from(AlbumImage)
        .join(Image, and_(Image.owner_id == AlbumImage.owner_id, Image.id == AlbumImage.image_id))
        .where(
            AlbumImage.owner_id == Album.owner_id,
            AlbumImage.album_id == Album.id,
            Image.trashed_at.is_(None),
        )
        .scalar_subquery()
    )


async def _view(session: AsyncSession, album: Album) -> AlbumView:
    count = await session.scalar(
        select(_image_count()).where(Album.owner_id == album.owner_id, Album.id == album.id)
    )
    return AlbumView(album=album, image_count=count or 0)
