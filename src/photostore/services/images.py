"""Photos: read, list, change, trash, restore and purge (uploads: ``services.ingest``).

A purge takes the same content lock as an upload of the same bytes
(``ImageRepository.lock_content``), so the two never interleave.

Every read of a stored file is opened by :meth:`ImageService.open_blob`: the blob store
checks each chunk before it is handed out (``storage.checksummed``, ``storage.encrypted``),
and this is the one place that chooses which copy of a blob to read; there is one copy
today, the blob store's.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import anyio

from photostore.db.repositories.image_views import view_by_id
from photostore.db.repositories.images import ImageRepository
from photostore.db.repositories.ownership import ensure_owned
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.db.repositories.tags import set_image_tags
from photostore.domain.images import Image, ImageChanges, ImageView, Thumbnail, TimelineFilters
from photostore.errors import BlobMissing, InvalidInput, NotFound
from photostore.ids import new_id
from photostore.media.analyze import analyze_file
from photostore.private_files import open_private
from photostore.services.context import ServiceContext
from photostore.services.decoding import decode_limits
from photostore.services.image_pages import Page, page_of
from photostore.services.pagination import check_limit, decode_cursor
from photostore.storage.base import (
    BlobNotFound,
    BlobStore,
    derivative_key,
    original_key,
)
from photostore.text_rules import check_description, check_taken_at, check_title, clean_tag_names

log = logging.getLogger(__name__)

THUMBNAIL_CONTENT_TYPE = "image/webp"


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
        # The thumbnails of a stored original come from what decodes, even where new
        # damaged uploads are refused: it was kept, so it is shown.
        self.limits = replace(decode_limits(ctx.settings), reject_damaged=False)

    # -- reading --------------------------------------------------------------------

    async def get(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> ImageView:
        async with self.ctx.db.read_for_user(owner_id) as driver:
            return await view_by_id(driver, owner_id, image_id)

    async def timeline(
        self, owner_id: uuid.UUID, filters: TimelineFilters, limit: int, cursor: str | None
    ) -> Page:
        """The owner's images that pass ``filters``, newest ``taken_at`` first, in keyset
        pages."""
        check_limit(limit)
        after = decode_cursor(cursor) if cursor is not None else None
        async with self.ctx.db.for_user(owner_id, ends_request=True) as session:
            images = await ImageRepository(session, owner_id).timeline(filters, after, limit)
        return page_of(images)

    async def original(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> BlobRef:
        async with self.ctx.db.for_user(owner_id) as session:
            image = await ImageRepository(session, owner_id).get(image_id)
        return BlobRef(
            key=original_key(str(owner_id), image.sha256),
            byte_size=image.byte_size,
            content_type=image.content_type,
            etag=image.sha256,
            filename=image.original_filename,
        )

    async def thumbnail(self, owner_id: uuid.UUID, image_id: uuid.UUID, kind: str) -> BlobRef:
        async with self.ctx.db.for_user(owner_id) as session:
            images = ImageRepository(session, owner_id)
            image = await images.get(image_id)
            thumbnail = await images.thumbnail(image_id, kind)
        if thumbnail is None:
            thumbnail = await self._remake_thumbnails(owner_id, image, kind)
        return _thumbnail_ref(owner_id, image, thumbnail)

    async def remake_thumbnail(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, kind: str
    ) -> BlobRef:
        """Make the thumbnails of an image again, from its original, and the ref of
        ``kind``: for a thumbnail whose stored file is missing, damaged or unchecked."""
        async with self.ctx.db.for_user(owner_id) as session:
            image = await ImageRepository(session, owner_id).get(image_id)
        log.warning("making the thumbnails of image %s again from its original", image_id)
        remade = await self._remake_thumbnails(owner_id, image, kind)
        return _thumbnail_ref(owner_id, image, remade)

    async def open_blob(self, ref: BlobRef, start: int, end: int) -> Iterator[bytes]:
        """The bytes ``start``..``end`` of ``ref``, the first chunk read and checked.

        Raises :class:`BlobMissing` when the store has no such blob,
        :class:`~photostore.errors.Unreadable` (``BlobDamaged``) when its first chunk
        fails its check, :class:`~photostore.storage.base.UncheckedBlob` for a thumbnail
        with nothing to check it against; a later chunk that fails raises from the
        iterator.
        """
        # In a worker thread: opening reads the blob's sums or header, its owner's data
        # key (a database transaction) and its first chunk; a slow disk or a busy pool
        # stalls this request, not the event loop.
        try:
            return await anyio.to_thread.run_sync(self.ctx.blobs.read_range, ref.key, start, end)
        except BlobNotFound as exc:
            raise BlobMissing("the stored file of this image is missing") from exc

    async def _remake_thumbnails(self, owner_id: uuid.UUID, image: Image, kind: str) -> Thumbnail:
        """Make the thumbnails of an image that has none (made lazily, then stored)."""
        # The decrypted original, in this process's staging folder: a crash leaves it
        # where the next sweep finds it (services.staging_area).
        source = self.ctx.staging_folder() / f"remake-{new_id()}"
        key = original_key(str(owner_id), image.sha256)
        try:
            try:
                await anyio.to_thread.run_sync(_copy_blob, self.ctx.blobs, key, source)
            except BlobNotFound as exc:
                raise BlobMissing("the stored original of this image is missing") from exc
            analyzed = await self.ctx.decode_slots.run(analyze_file, source, self.limits)
        finally:
            source.unlink(missing_ok=True)
        made: dict[str, Thumbnail] = {}
        for name, data in analyzed.thumbnails.items():
            await anyio.to_thread.run_sync(
                self.ctx.blobs.put_bytes, derivative_key(str(owner_id), str(image.id), name), data
            )
            made[name] = Thumbnail(
                kind=name, content_type=THUMBNAIL_CONTENT_TYPE, byte_size=len(data)
            )
        async with self.ctx.db.for_user(owner_id) as session:
            await ImageRepository(session, owner_id).put_thumbnails(image.id, list(made.values()))
        if kind not in made:
            raise NotFound(f"no thumbnail of size {kind!r}")
        return made[kind]

    # -- changing -------------------------------------------------------------------

    async def update(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, changes: ImageChanges
    ) -> ImageView:
        """Change title, description, favorite, taken_at (then the user's) or the tags."""
        tag_names = check_changes(changes)
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id], for_update=True)
            if tag_names is not None:
                await set_image_tags(session, owner_id, image_id, tag_names)
            images = ImageRepository(session, owner_id)
            if changes.fields:
                view = await images.update(image_id, changes, self.ctx.clock())
            else:
                view = await images.view(image_id)
            await refresh_search_documents(session, owner_id, [image_id])
            return view

    async def trash(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> ImageView:
        return await self._set_trashed(owner_id, image_id, trashed=True)

    async def restore(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> ImageView:
        return await self._set_trashed(owner_id, image_id, trashed=False)

    async def _set_trashed(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, *, trashed: bool
    ) -> ImageView:
        async with self.ctx.db.for_user(owner_id) as session:
            return await ImageRepository(session, owner_id).set_trashed(
                image_id, trashed, self.ctx.clock()
            )

    async def purge(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> None:
        """Delete an image for good; its original goes when no image references it.

        Files are removed inside the transaction, under the content lock, so an upload
        of the same bytes cannot slip its file in between. Should the commit then fail,
        the rows stay and point at removed files; purging again finishes the job.
        """
        blobs = self.ctx.blobs
        async with self.ctx.db.for_user(owner_id) as session:
            images = ImageRepository(session, owner_id)
            image = await images.get(image_id, for_update=True)
            await images.lock_content(image.sha256)
            removed = await images.delete(image_id, image.sha256)
            for kind in removed.thumbnails:
                key = derivative_key(str(owner_id), str(image_id), kind)
                await anyio.to_thread.run_sync(blobs.delete, key)
            if removed.original_unused:
                key = original_key(str(owner_id), image.sha256)
                await anyio.to_thread.run_sync(blobs.delete, key)


def check_changes(changes: ImageChanges) -> list[str] | None:
    """Refuse changes an image could not take; the cleaned tag names when ``changes``
    replaces the tags, else None."""
    if "title" in changes.fields:
        check_title(changes.title)
    if "description" in changes.fields:
        check_description(changes.description)
    if "favorite" in changes.fields and changes.favorite is None:
        raise InvalidInput("favorite must be true or false")
    if "taken_at" in changes.fields:
        check_taken_at(changes.taken_at)
    return clean_tag_names(changes.tags) if "tags" in changes.fields else None


def _thumbnail_ref(owner_id: uuid.UUID, image: Image, thumbnail: Thumbnail) -> BlobRef:
    image_id, kind = image.id, thumbnail.kind
    return BlobRef(
        key=derivative_key(str(owner_id), str(image_id), kind),
        byte_size=thumbnail.byte_size,
        content_type=thumbnail.content_type,
        etag=f"{image.sha256[:32]}-{kind}-{thumbnail.byte_size}",
        filename=f"{image_id}-{kind}.webp",
    )


def _copy_blob(blobs: BlobStore, key: str, target: Path) -> None:
    with open_private(target) as out:
        for chunk in blobs.read_range(key):
            out.write(chunk)
