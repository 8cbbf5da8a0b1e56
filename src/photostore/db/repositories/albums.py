"""The rows of ``albums`` and ``album_images``: one owner's albums, in the transaction of
the caller.

Deleting an album never deletes its images (the database cascades only the memberships).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    Select,
    and_,
    delete,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.db.repositories.image_counts import untrashed_image_count
from photostore.db.repositories.keyset import keyset_page
from photostore.domain.albums import Album, AlbumChanges
from photostore.domain.pages import Slice
from photostore.errors import NotFound
from photostore.ids import new_id

_COLUMNS = (
    models.Album.id,
    models.Album.name,
    models.Album.description,
    untrashed_image_count(models.AlbumImage, models.AlbumImage.album_id, models.Album).label(
        "image_count"
    ),
    models.Album.created_at,
    models.Album.updated_at,
)


class AlbumRepository:
    """Albums of one owner, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def add(self, name: str, description: str | None, created_at: datetime) -> Album:
        """Store a new, empty album (the caller checks name and description)."""
        album_id = new_id()
        await self._session.execute(
            insert(models.Album).values(
                owner_id=self._owner_id,
                id=album_id,
                name=name,
                description=description,
                created_at=created_at,
                updated_at=created_at,
            )
        )
        return Album(
            id=album_id,
            name=name,
            description=description,
            image_count=0,
            created_at=created_at,
            updated_at=created_at,
        )

    async def get(self, album_id: uuid.UUID) -> Album:
        """The album; NotFound if it is not the owner's."""
        row = (
            await self._session.execute(select(*_COLUMNS).where(self._is(album_id)))
        ).one_or_none()
        if row is None:
            raise NotFound("no such album")
        return _album(row._mapping)

    async def page(self, after: tuple[datetime, uuid.UUID] | None, limit: int) -> Slice[Album]:
        """Up to ``limit`` albums after the (created_at, id) ``after``, newest first."""
        return await keyset_page(
            self._session,
            select(*_COLUMNS).where(models.Album.owner_id == self._owner_id),
            models.Album.created_at,
            models.Album.id,
            after,
            limit,
            _album,
            descending=True,
        )

    async def update(
        self, album_id: uuid.UUID, changes: AlbumChanges, updated_at: datetime
    ) -> Album:
        """Apply the fields of ``changes`` (checked by the caller); NotFound if not the owner's."""
        values: dict[str, Any] = {"updated_at": updated_at}
        if "name" in changes.fields:
            values["name"] = changes.name
        if "description" in changes.fields:
            values["description"] = changes.description
        return await self._set(album_id, values)

    async def touch(self, album_id: uuid.UUID, updated_at: datetime) -> Album:
        """Mark the album changed (its images were); NotFound if it is not the owner's."""
        return await self._set(album_id, {"updated_at": updated_at})

    async def delete(self, album_id: uuid.UUID) -> None:
        """Delete the album (its images stay); NotFound if it is not the owner's."""
        deleted = await self._session.scalar(
            delete(models.Album).where(self._is(album_id)).returning(models.Album.id)
        )
        if deleted is None:
            raise NotFound("no such album")

    async def add_images(
        self, album_id: uuid.UUID, image_ids: Collection[uuid.UUID], added_at: datetime
    ) -> None:
        """Put the images (the owner's, checked by the caller) in the album; those already
        in it stay as they are."""
        await self._session.execute(
            insert(models.AlbumImage)
            .values(
                [
                    {
                        "owner_id": self._owner_id,
                        "album_id": album_id,
                        "image_id": i,
                        "added_at": added_at,
                    }
                    for i in set(image_ids)
                ]
            )
            .on_conflict_do_nothing()
        )

    async def remove_images(self, album_id: uuid.UUID, image_ids: Collection[uuid.UUID]) -> None:
        """Take the images out of the album; those not in it stay as they are."""
        await self._session.execute(
            delete(models.AlbumImage).where(
                models.AlbumImage.owner_id == self._owner_id,
                models.AlbumImage.album_id == album_id,
                models.AlbumImage.image_id.in_(set(image_ids)),
            )
        )

    async def _set(self, album_id: uuid.UUID, values: dict[str, Any]) -> Album:
        row = (
            await self._session.execute(
                update(models.Album).where(self._is(album_id)).values(values).returning(*_COLUMNS)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("no such album")
        return _album(row._mapping)

    def _is(self, album_id: uuid.UUID) -> ColumnElement[bool]:
        return and_(models.Album.owner_id == self._owner_id, models.Album.id == album_id)


def _album(row: RowMapping) -> Album:
    return Album(**row)


def album_image_ids(owner_id: uuid.UUID, album_id: uuid.UUID) -> Select[uuid.UUID]:
    """The ids of the album's images, as a subquery for a page of images."""
    return select(models.AlbumImage.image_id).where(
        models.AlbumImage.owner_id == owner_id, models.AlbumImage.album_id == album_id
    )
