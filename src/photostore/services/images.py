"""Photos: read, list, change, trash, restore and purge (uploads: ``services.ingest``).

A purge takes the same content lock as an upload of the same bytes (``lock_content``),
so the two never interleave.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import anyio
import psycopg
from sqlalchemy import Select, and_, bindparam, delete, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Blob, Derivative, Image, ImageTag, Tag
from photostore.db.repositories.ownership import load_owned
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.db.repositories.tags import image_tag_names, set_image_tags
from photostore.db.session import driver_rows, driver_sql
from photostore.errors import InvalidInput, NotFound
from photostore.ids import new_id
from photostore.media.analyze import analyze_file
from photostore.media.exif import EARLIEST_TAKEN_AT, LATEST_TAKEN_AT, plausible_taken_at
from photostore.private_files import open_private, private_folder
from photostore.services.context import ServiceContext
from photostore.services.decoding import decode_limits
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor
from photostore.storage.base import BlobStore, derivative_key, original_key
from photostore.text_rules import check_description, clean_tag_names

log = logging.getLogger(__name__)

THUMBNAIL_CONTENT_TYPE = "image/webp"


class ImageRecord(Protocol):
    """The columns of an image a view shows: a mapped ``Image`` or a row of
    ``_VIEW_COLUMNS``."""

    id: uuid.UUID
    sha256: str
    original_filename: str
    content_type: str
    byte_size: int
    width: int
    height: int
    orientation: int
    taken_at: datetime
    taken_at_source: str
    taken_at_offset_minutes: int | None
    uploaded_at: datetime
    updated_at: datetime
    camera_make: str | None
    camera_model: str | None
    latitude: float | None
    longitude: float | None
    altitude: float | None
    exif: dict[str, Any]
    description: str | None
    favorite: bool
    trashed_at: datetime | None


@dataclass(frozen=True)
class ImageView:
    """An image row with the names of its tags."""

    image: ImageRecord
    tags: list[str]


_IMAGES = Image.metadata.tables[Image.__tablename__]
# Reading images by id is what the gallery and search do on every request: the rows and
# their tag names in one statement built once, of table columns (an entity query and a
# second statement for the tags cost 1.2-1.6 ms more per request, measured with
# bench/requests.py and py-spy); the single image is read by psycopg directly, in a
# transaction without an ORM session (``Database.read_for_user``).
_VIEW_COLUMNS = select(*_IMAGES.c, image_tag_names(_IMAGES.c.owner_id).label("tags")).where(
    _IMAGES.c.owner_id == bindparam("owner_id")
)
_VIEW_BY_ID = driver_sql(_VIEW_COLUMNS.where(_IMAGES.c.id == bindparam("image_id")))
_VIEWS_BY_IDS = _VIEW_COLUMNS.where(_IMAGES.c.id.in_(bindparam("image_ids", expanding=True)))


async def view_by_id(
    driver: psycopg.AsyncConnection[Any], owner_id: uuid.UUID, image_id: uuid.UUID
) -> ImageView:
    """The image ``image_id`` of ``owner_id`` with its tags; NotFound if not theirs."""
    rows = await driver_rows(driver, _VIEW_BY_ID, {"owner_id": owner_id, "image_id": image_id})
    if not rows:
        raise NotFound("no such image")
    return ImageView(image=rows[0], tags=list(rows[0].tags))


async def views_by_ids(
    session: AsyncSession, owner_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, ImageView]:
    """The images of ``owner_id`` among ``image_ids``, each with its tags, by id."""
    if not image_ids:
        return {}
    rows = await session.execute(
        _VIEWS_BY_IDS, {"owner_id": owner_id, "image_ids": list(image_ids)}
    )
    return {row.id: ImageView(image=row, tags=list(row.tags)) for row in rows}


async def read_views(
    session: AsyncSession, owner_id: uuid.UUID, images: Select[Image]
) -> list[ImageView]:
    """The images ``images`` selects (of ``owner_id``), each with its tags, in its order."""
    rows = await session.execute(images.add_columns(image_tag_names(owner_id)))
    return [ImageView(image=image, tags=list(tags)) for image, tags in rows]


@dataclass(frozen=True)
class TimelineQuery:
    """Filters and paging of a user's timeline, newest ``taken_at`` first."""

    taken_after: datetime | None = None
    taken_before: datetime | None = None
    tag: str | None = None
    favorite: bool | None = None
    trashed: bool = False
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[ImageView]
    next_cursor: str | None


@dataclass(frozen=True)
class ImageChanges:
    """What a PATCH may change; only the names in ``fields`` are applied."""

    fields: frozenset[str]
    description: str | None = None
    taken_at: datetime | None = None
    favorite: bool | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BlobRef:
    """Where the bytes of an original or a thumbnail are and how to label them."""

    key: str
    byte_size: int
    content_type: str
    etag: str
    filename: str


class ImageService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.limits = decode_limits(ctx.settings)

    # -- reading --------------------------------------------------------------------

    async def get(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> ImageView:
        async with self.ctx.db.read_for_user(owner_id) as driver:
            return await view_by_id(driver, owner_id, image_id)

    async def timeline(self, owner_id: uuid.UUID, query: TimelineQuery) -> Page:
        check_limit(query.limit)
        stmt = _timeline_statement(owner_id, query)
        async with self.ctx.db.for_user(owner_id, ends_request=True) as session:
            views = await read_views(session, owner_id, stmt.limit(query.limit + 1))
        more = len(views) > query.limit
        items = views[: query.limit]
        last = items[-1].image if more else None
        return Page(
            items=items,
            next_cursor=encode_cursor(last.taken_at, last.id) if last is not None else None,
        )

    async def original(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> BlobRef:
        async with self.ctx.db.for_user(owner_id) as session:
            image = await load_owned(session, Image, owner_id, image_id, "image")
        return BlobRef(
            key=original_key(str(owner_id), image.sha256),
            byte_size=image.byte_size,
            content_type=image.content_type,
            etag=image.sha256,
            filename=image.original_filename,
        )

    async def thumbnail(self, owner_id: uuid.UUID, image_id: uuid.UUID, kind: str) -> BlobRef:
        async with self.ctx.db.for_user(owner_id) as session:
            image = await load_owned(session, Image, owner_id, image_id, "image")
            derivative = await session.get(Derivative, (owner_id, image_id, kind))
        if derivative is None:
            derivative = await self._remake_thumbnails(owner_id, image, kind)
        return BlobRef(
            key=derivative_key(str(owner_id), str(image_id), kind),
            byte_size=derivative.byte_size,
            content_type=derivative.content_type,
            etag=f"{image.sha256[:32]}-{kind}-{derivative.byte_size}",
            filename=f"{image_id}-{kind}.webp",
        )

    async def _remake_thumbnails(self, owner_id: uuid.UUID, image: Image, kind: str) -> Derivative:
        """Make the thumbnails of an image that has none (made lazily, then stored)."""
        staging = private_folder(self.ctx.settings.staging_dir)
        source = staging / f"remake-{new_id()}"
        key = original_key(str(owner_id), image.sha256)
        try:
            await anyio.to_thread.run_sync(_copy_blob, self.ctx.blobs, key, source)
            analyzed = await self.ctx.decode_slots.run(analyze_file, source, self.limits)
        finally:
            source.unlink(missing_ok=True)
        made: dict[str, Derivative] = {}
        for name, data in analyzed.thumbnails.items():
            await anyio.to_thread.run_sync(
                self.ctx.blobs.put_bytes, derivative_key(str(owner_id), str(image.id), name), data
            )
            made[name] = Derivative(
                owner_id=owner_id,
                image_id=image.id,
                kind=name,
                content_type=THUMBNAIL_CONTENT_TYPE,
                byte_size=len(data),
            )
        async with self.ctx.db.for_user(owner_id) as session:
            for derivative in made.values():
                await session.merge(derivative)
        if kind not in made:
            raise NotFound(f"no thumbnail of size {kind!r}")
        return made[kind]

    # -- changing -------------------------------------------------------------------

    async def update(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, changes: ImageChanges
    ) -> ImageView:
        values: dict[str, object] = {}
        if "description" in changes.fields:
            check_description(changes.description)
            values["description"] = changes.description
        if "favorite" in changes.fields:
            if changes.favorite is None:
                raise InvalidInput("favorite must be true or false")
            values["favorite"] = changes.favorite
        if "taken_at" in changes.fields:
            if changes.taken_at is None or changes.taken_at.tzinfo is None:
                raise InvalidInput("taken_at must be a date-time with a time zone offset")
            if not plausible_taken_at(changes.taken_at):
                raise InvalidInput(
                    f"taken_at must lie between {EARLIEST_TAKEN_AT:%Y-%m-%d} and "
                    f"{LATEST_TAKEN_AT:%Y-%m-%d} (UTC)"
                )
            offset = changes.taken_at.utcoffset()
            values["taken_at"] = changes.taken_at
            values["taken_at_source"] = "user"
            values["taken_at_offset_minutes"] = (
                int(offset.total_seconds() // 60) if offset is not None else None
            )
        tag_names = clean_tag_names(changes.tags) if "tags" in changes.fields else None
        async with self.ctx.db.for_user(owner_id) as session:
            image = await load_owned(session, Image, owner_id, image_id, "image", for_update=True)
            if tag_names is not None:
                await set_image_tags(session, owner_id, image_id, tag_names)
            if values or tag_names is not None:
                values["updated_at"] = self.ctx.clock()
            for name, value in values.items():
                setattr(image, name, value)
            await session.flush()
            await refresh_search_documents(session, owner_id, [image_id])
            return await view_of(session, image)

    async def trash(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> ImageView:
        return await self._set_trashed(owner_id, image_id, trashed=True)

    async def restore(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> ImageView:
        return await self._set_trashed(owner_id, image_id, trashed=False)

    async def _set_trashed(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, *, trashed: bool
    ) -> ImageView:
        now = self.ctx.clock()
        async with self.ctx.db.for_user(owner_id) as session:
            image = await load_owned(session, Image, owner_id, image_id, "image", for_update=True)
            if trashed and image.trashed_at is None:
                image.trashed_at = now
            elif not trashed:
                image.trashed_at = None
            image.updated_at = now
            await session.flush()
            return await view_of(session, image)

    async def purge(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> None:
        """Delete an image for good; its original goes when no image references it.

        Files are removed inside the transaction, under the content lock, so an upload
        of the same bytes cannot slip its file in between. Should the commit then fail,
        the rows stay and point at removed files; purging again finishes the job.
        """
        blobs = self.ctx.blobs
        async with self.ctx.db.for_user(owner_id) as session:
            image = await load_owned(session, Image, owner_id, image_id, "image", for_update=True)
            await lock_content(session, owner_id, image.sha256)
            kinds = list(
                await session.scalars(
                    select(Derivative.kind).where(
                        Derivative.owner_id == owner_id, Derivative.image_id == image_id
                    )
                )
            )
            sha256 = image.sha256
            await session.delete(image)
            await session.flush()
            still_used = await session.scalar(
                select(Image.id).where(Image.owner_id == owner_id, Image.sha256 == sha256).limit(1)
            )
            if still_used is None:
                await session.execute(
                    delete(Blob).where(Blob.owner_id == owner_id, Blob.sha256 == sha256)
                )
            for kind in kinds:
                key = derivative_key(str(owner_id), str(image_id), kind)
                await anyio.to_thread.run_sync(blobs.delete, key)
            if still_used is None:
                key = original_key(str(owner_id), sha256)
                await anyio.to_thread.run_sync(blobs.delete, key)


def _copy_blob(blobs: BlobStore, key: str, target: Path) -> None:
    with open_private(target) as out:
        for chunk in blobs.read_range(key):
            out.write(chunk)


async def lock_content(session: AsyncSession, owner_id: uuid.UUID, sha256: str) -> None:
    """Serialize ingest and purge of the same bytes of one owner (until the commit)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"content:{owner_id}:{sha256}"},
    )


async def view_of(session: AsyncSession, image: Image) -> ImageView:
    """The view of a loaded image row, its tags read in ``session``."""
    tags = await session.scalar(
        select(image_tag_names(image.owner_id)).where(
            Image.owner_id == image.owner_id, Image.id == image.id
        )
    )
    return ImageView(image=image, tags=list(tags or []))


def _timeline_statement(owner_id: uuid.UUID, query: TimelineQuery) -> Select[Image]:
    stmt = select(Image).where(Image.owner_id == owner_id)
    stmt = stmt.where(
        Image.trashed_at.is_not(None) if query.trashed else Image.trashed_at.is_(None)
    )
    if query.taken_after is not None:
        stmt = stmt.where(Image.taken_at >= query.taken_after)
    if query.taken_before is not None:
        stmt = stmt.where(Image.taken_at < query.taken_before)
    if query.favorite is not None:
        stmt = stmt.where(Image.favorite.is_(query.favorite))
    if query.tag is not None:
        tagged = (
            select(ImageTag.image_id)
            .join(Tag, and_(Tag.owner_id == ImageTag.owner_id, Tag.id == ImageTag.tag_id))
            .where(ImageTag.owner_id == owner_id, func.lower(Tag.name) == query.tag.strip().lower())
        )
        stmt = stmt.where(Image.id.in_(tagged))
    if query.cursor is not None:
        taken_at, last_id = decode_cursor(query.cursor)
        stmt = stmt.where(tuple_(Image.taken_at, Image.id) < tuple_(taken_at, last_id))
    return stmt.order_by(Image.taken_at.desc(), Image.id.desc())
