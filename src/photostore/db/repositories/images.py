"""The rows of ``images``, ``blobs`` and ``derivatives``: one owner's photos, in the
transaction of the caller.

An original is stored once per owner and content (``blobs``, by sha256), however many
times it is uploaded; its image rows reference it, and it goes when the last one does.
Thumbnails (``derivatives``) go with their image (the database cascades them).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.db.repositories.albums import album_image_ids
from photostore.db.repositories.image_views import (
    VIEW_COLUMNS,
    view_of_mapping,
    view_of_row,
    views_by_ids,
)
from photostore.db.repositories.keyset import keyset_page
from photostore.db.repositories.people import person_image_ids
from photostore.db.repositories.tags import tag_image_ids
from photostore.domain.images import (
    Image,
    ImageChanges,
    ImageView,
    InAlbum,
    Membership,
    Removed,
    ShowingPerson,
    TaggedWith,
    Thumbnail,
    TimelineFilters,
)
from photostore.domain.pages import Slice
from photostore.errors import NotFound

_IMAGE = models.Image
_IMAGE_COLUMNS = tuple(_IMAGE.__table__.c[name] for name in Image._fields)
# No image is held as an ORM object in a session: the session need not be brought in line
# with an UPDATE or DELETE of images.
_NO_SYNC = {"synchronize_session": False}
_LOCK_CONTENT = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


class ImageRepository:
    """Images of one owner, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    # -- reading --------------------------------------------------------------------

    async def get(self, image_id: uuid.UUID, *, for_update: bool = False) -> Image:
        """The image (its row locked with ``for_update``); NotFound if not the owner's."""
        stmt = select(*_IMAGE_COLUMNS).where(self._is(image_id))
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self._session.execute(stmt)).one_or_none()
        if row is None:
            raise NotFound("no such image")
        return Image._make(row)

    async def view(self, image_id: uuid.UUID) -> ImageView:
        """The image with its tags; NotFound if not the owner's."""
        views = await views_by_ids(self._session, self._owner_id, [image_id])
        if image_id not in views:
            raise NotFound("no such image")
        return views[image_id]

    async def view_by_content(self, sha256: str) -> ImageView | None:
        """The owner's image of these bytes (there is at most one), with its tags."""
        row = (
            await self._session.execute(
                select(*VIEW_COLUMNS).where(
                    _IMAGE.owner_id == self._owner_id, _IMAGE.sha256 == sha256
                )
            )
        ).one_or_none()
        return view_of_row(row) if row is not None else None

    async def timeline(
        self, filters: TimelineFilters, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Slice[ImageView]:
        """Up to ``limit`` images that pass ``filters``, after the (taken_at, id) ``after``,
        newest first."""
        trashed = _IMAGE.trashed_at.is_not(None) if filters.trashed else _IMAGE.trashed_at.is_(None)
        stmt = select(*VIEW_COLUMNS).where(_IMAGE.owner_id == self._owner_id, trashed)
        if filters.taken_after is not None:
            stmt = stmt.where(_IMAGE.taken_at >= filters.taken_after)
        if filters.taken_before is not None:
            stmt = stmt.where(_IMAGE.taken_at < filters.taken_before)
        if filters.favorite is not None:
            stmt = stmt.where(_IMAGE.favorite.is_(filters.favorite))
        if filters.damaged is not None:
            stmt = stmt.where(_IMAGE.damaged.is_(filters.damaged))
        if filters.created_after is not None:
            stmt = stmt.where(_IMAGE.uploaded_at >= filters.created_after)
        if filters.updated_after is not None:
            stmt = stmt.where(_IMAGE.updated_at >= filters.updated_after)
        if filters.tag is not None:
            stmt = stmt.where(_IMAGE.id.in_(self._tagged_by_name(filters.tag)))
        if filters.missing_analysis is not None:
            results = models.AnalysisResult
            stmt = stmt.where(
                ~exists().where(
                    results.owner_id == self._owner_id,
                    results.image_id == _IMAGE.id,
                    results.analyzer == filters.missing_analysis,
                )
            )
        if filters.missing_vector is not None:
            space_id = await self._space_id(filters.missing_vector)
            vectors = models.Embedding
            stmt = stmt.where(
                ~exists().where(
                    vectors.owner_id == self._owner_id,
                    vectors.space_id == space_id,
                    vectors.image_id == _IMAGE.id,
                )
            )
        return await self._page(stmt, after, limit)

    async def _space_id(self, name: str) -> uuid.UUID:
        spaces = models.EmbeddingSpace
        found = await self._session.scalar(
            select(spaces.id).where(spaces.owner_id == self._owner_id, spaces.name == name)
        )
        if found is None:
            raise NotFound(f"no embedding space named {name!r}")
        return found

    async def members(
        self, membership: Membership, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Slice[ImageView]:
        """Up to ``limit`` images of the album, tag or person, none from the trash, after
        the (taken_at, id) ``after``, newest first."""
        stmt = select(*VIEW_COLUMNS).where(
            _IMAGE.owner_id == self._owner_id,
            _IMAGE.trashed_at.is_(None),
            _IMAGE.id.in_(self._member_ids(membership)),
        )
        return await self._page(stmt, after, limit)

    async def thumbnail(self, image_id: uuid.UUID, kind: str) -> Thumbnail | None:
        """The image's stored thumbnail of size ``kind``, if it has one."""
        derivative = await self._session.get(models.Derivative, (self._owner_id, image_id, kind))
        if derivative is None:
            return None
        return Thumbnail(
            kind=derivative.kind,
            content_type=derivative.content_type,
            byte_size=derivative.byte_size,
        )

    async def holds_original(self, sha256: str) -> bool:
        """Whether the owner has an original of these bytes stored (a ``blobs`` row)."""
        found = await self._session.scalar(
            select(models.Blob.sha256).where(
                models.Blob.owner_id == self._owner_id, models.Blob.sha256 == sha256
            )
        )
        return found is not None

    # -- writing --------------------------------------------------------------------

    async def lock_content(self, sha256: str) -> None:
        """Serialize ingest and purge of the same bytes of the owner (until the commit)."""
        await self._session.execute(_LOCK_CONTENT, {"key": f"content:{self._owner_id}:{sha256}"})

    async def add(self, image: Image) -> None:
        """Store a new image, and its original's row unless the owner holds those bytes."""
        await self._session.execute(
            insert(models.Blob)
            .values(owner_id=self._owner_id, sha256=image.sha256, byte_size=image.byte_size)
            .on_conflict_do_nothing()
        )
        await self._session.execute(
            insert(_IMAGE).values(owner_id=self._owner_id, **image._asdict())
        )

    async def put_thumbnails(self, image_id: uuid.UUID, thumbnails: Sequence[Thumbnail]) -> None:
        """Record the image's thumbnails (their bytes are stored), replacing those of the
        same kinds."""
        if not thumbnails:
            return
        stmt = insert(models.Derivative).values(
            [
                {
                    "owner_id": self._owner_id,
                    "image_id": image_id,
                    "kind": t.kind,
                    "content_type": t.content_type,
                    "byte_size": t.byte_size,
                }
                for t in thumbnails
            ]
        )
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=[
                    models.Derivative.owner_id,
                    models.Derivative.image_id,
                    models.Derivative.kind,
                ],
                set_={
                    "content_type": stmt.excluded.content_type,
                    "byte_size": stmt.excluded.byte_size,
                },
            )
        )

    async def update(
        self, image_id: uuid.UUID, changes: ImageChanges, updated_at: datetime
    ) -> ImageView:
        """Apply the fields of ``changes`` but its tags (checked by the caller); NotFound if
        not the owner's. A ``taken_at`` set so is recorded as the user's (source ``user``)
        with the zone offset it carries."""
        values: dict[str, Any] = {"updated_at": updated_at}
        if "title" in changes.fields:
            values["title"] = changes.title
        if "description" in changes.fields:
            values["description"] = changes.description
        if "favorite" in changes.fields:
            values["favorite"] = changes.favorite
        if "taken_at" in changes.fields and changes.taken_at is not None:
            offset = changes.taken_at.utcoffset()
            values["taken_at"] = changes.taken_at
            values["taken_at_source"] = "user"
            values["taken_at_offset_minutes"] = (
                int(offset.total_seconds() // 60) if offset is not None else None
            )
        return await self._set(image_id, values)

    async def set_trashed(self, image_id: uuid.UUID, trashed: bool, at: datetime) -> ImageView:
        """Move the image to the trash at ``at`` (one already there keeps its time), or out
        of it; NotFound if not the owner's."""
        # Typed as the column: a bare datetime would be sent as a timestamp without zone.
        moved_at = literal(at, _IMAGE.trashed_at.type)
        trashed_at = func.coalesce(_IMAGE.trashed_at, moved_at) if trashed else None
        return await self._set(image_id, {"trashed_at": trashed_at, "updated_at": at})

    async def set_trashed_many(
        self, image_ids: Sequence[uuid.UUID], trashed: bool, at: datetime
    ) -> dict[uuid.UUID, ImageView]:
        """:meth:`set_trashed` for many images of the owner in one statement; the views of
        those it found, by id."""
        moved_at = literal(at, _IMAGE.trashed_at.type)
        trashed_at = func.coalesce(_IMAGE.trashed_at, moved_at) if trashed else None
        rows = await self._session.execute(
            update(_IMAGE)
            .where(_IMAGE.owner_id == self._owner_id, _IMAGE.id.in_(list(image_ids)))
            .values(trashed_at=trashed_at, updated_at=at)
            .returning(*VIEW_COLUMNS)
            .execution_options(**_NO_SYNC)
        )
        views = (view_of_row(row) for row in rows)
        return {view.image.id: view for view in views}

    async def delete(self, image_id: uuid.UUID, sha256: str) -> Removed:
        """Delete the image of content ``sha256``, and the row of its original if no other
        image of the owner has those bytes."""
        kinds = await self._session.scalars(
            select(models.Derivative.kind).where(
                models.Derivative.owner_id == self._owner_id,
                models.Derivative.image_id == image_id,
            )
        )
        thumbnails = list(kinds)
        await self._session.execute(
            delete(_IMAGE).where(self._is(image_id)).execution_options(**_NO_SYNC)
        )
        still_used = await self._session.scalar(
            select(_IMAGE.id)
            .where(_IMAGE.owner_id == self._owner_id, _IMAGE.sha256 == sha256)
            .limit(1)
        )
        if still_used is None:
            await self._session.execute(
                delete(models.Blob).where(
                    models.Blob.owner_id == self._owner_id, models.Blob.sha256 == sha256
                )
            )
        return Removed(thumbnails=thumbnails, original_unused=still_used is None)

    # -- helpers --------------------------------------------------------------------

    async def _page(
        self,
        stmt: Select[*tuple[Any, ...]],
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Slice[ImageView]:
        return await keyset_page(
            self._session,
            stmt,
            _IMAGE.taken_at,
            _IMAGE.id,
            after,
            limit,
            view_of_mapping,
            descending=True,
        )

    async def _set(self, image_id: uuid.UUID, values: dict[str, Any]) -> ImageView:
        row = (
            await self._session.execute(
                update(_IMAGE)
                .where(self._is(image_id))
                .values(values)
                .returning(*VIEW_COLUMNS)
                .execution_options(**_NO_SYNC)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("no such image")
        return view_of_row(row)

    def _tagged_by_name(self, name: str) -> Select[uuid.UUID]:
        """The ids of the images carrying the tag ``name``, ignoring case and blanks."""
        return (
            select(models.ImageTag.image_id)
            .join(
                models.Tag,
                and_(
                    models.Tag.owner_id == models.ImageTag.owner_id,
                    models.Tag.id == models.ImageTag.tag_id,
                ),
            )
            .where(
                models.ImageTag.owner_id == self._owner_id,
                func.lower(models.Tag.name) == name.strip().lower(),
            )
        )

    def _member_ids(self, membership: Membership) -> Select[uuid.UUID]:
        match membership:
            case InAlbum(album_id):
                return album_image_ids(self._owner_id, album_id)
            case TaggedWith(tag_id):
                return tag_image_ids(self._owner_id, tag_id)
            case ShowingPerson(person_id):
                return person_image_ids(self._owner_id, person_id)

    def _is(self, image_id: uuid.UUID) -> ColumnElement[bool]:
        return and_(_IMAGE.owner_id == self._owner_id, _IMAGE.id == image_id)
