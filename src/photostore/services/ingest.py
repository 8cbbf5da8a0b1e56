"""Uploads: a staged file becomes an image of its owner, or is the one it already is.

Ingest order, chosen so that a failure loses nothing and leaves nothing behind:

1. the bytes are already staged and hashed (``services.staging``);
2. the same bytes from the same user → the existing record, nothing written;
3. the file is identified, checked and decoded once, in a worker thread;
4. original and thumbnails are written to the blob store (durable before step 5);
5. the rows commit in one transaction. Steps 4 and 5 run under a transaction-scoped
   advisory lock on (owner, sha256), so a concurrent upload or purge of the same bytes
   waits; if anything fails, the files written in step 4 are removed before the lock
   is released.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC

import anyio

from photostore.db.repositories.images import ImageRepository
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.db.repositories.tags import set_image_tags
from photostore.domain.images import Image, ImageView, Thumbnail
from photostore.domain.sidecars import SidecarFields
from photostore.ids import new_id
from photostore.media.analyze import AnalyzedImage, analyze_file
from photostore.media.exif import ImageMetadata
from photostore.services.context import ServiceContext
from photostore.services.decoding import decode_limits
from photostore.services.filenames import display_filename
from photostore.services.images import THUMBNAIL_CONTENT_TYPE
from photostore.services.staging import StagedUpload
from photostore.services.upload_fields import upload_sidecar_fields
from photostore.storage.base import derivative_key, original_key
from photostore.text_rules import check_sidecar, clean_tag_names
from photostore.threads import clean_up_in_thread


@dataclass(frozen=True)
class IngestResult:
    """The image an upload is, and whether this upload created it."""

    view: ImageView
    created: bool


class IngestService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.limits = decode_limits(ctx.settings)

    async def ingest(
        self,
        owner_id: uuid.UUID,
        staged: StagedUpload,
        filename: str | None,
        description: str | None = None,
        tags: Sequence[str] = (),
        sidecar: SidecarFields | None = None,
    ) -> IngestResult:
        """Store a staged upload as an image of ``owner_id``; the staged file is consumed.

        ``description`` and ``tags`` are the upload's own; ``sidecar`` (an XMP or Takeout
        document sent or found beside the file) fills what they leave open and wins over
        the file's EXIF. The same bytes stored before are returned as they are: a sidecar
        never changes an existing image.
        """
        try:
            given = SidecarFields(description=description, tags=tuple(tags))
            fields = given.over(sidecar) if sidecar is not None else given
            check_sidecar(fields)
            tag_names = clean_tag_names(fields.tags)
            existing = await self._find_by_sha(owner_id, staged.sha256)
            if existing is not None:
                return IngestResult(view=existing, created=False)
            analyzed = await self.ctx.decode_slots.run(analyze_file, staged.path, self.limits)
            return await self._store_new(
                owner_id, staged, analyzed, display_filename(filename), fields, tag_names
            )
        finally:
            await clean_up_in_thread(staged.discard)

    async def ingest_upload(
        self,
        owner_id: uuid.UUID,
        staged: StagedUpload,
        filename: str | None,
        fields: Mapping[str, Sequence[str]],
        sidecar_document: bytes | None = None,
    ) -> IngestResult:
        """Store an upload with what its form says of it (``services.upload_fields``):
        its fields over its sidecar document over the file's EXIF. A field that cannot be
        read refuses the upload, and the staged file is removed, with nothing stored."""
        try:
            if sidecar_document is None:
                sidecar = upload_sidecar_fields(fields, None)
            else:
                # A document of a few MiB takes milliseconds to parse: off the event loop.
                sidecar = await anyio.to_thread.run_sync(
                    upload_sidecar_fields, fields, sidecar_document
                )
        except BaseException:
            await clean_up_in_thread(staged.discard)
            raise
        return await self.ingest(owner_id, staged, filename, sidecar=sidecar)

    async def _find_by_sha(self, owner_id: uuid.UUID, sha256: str) -> ImageView | None:
        async with self.ctx.db.for_user(owner_id) as session:
            return await ImageRepository(session, owner_id).view_by_content(sha256)

    async def _store_new(
        self,
        owner_id: uuid.UUID,
        staged: StagedUpload,
        analyzed: AnalyzedImage,
        filename: str,
        fields: SidecarFields,
        tag_names: list[str],
    ) -> IngestResult:
        image_id = new_id()
        owner = str(owner_id)
        blob_key = original_key(owner, staged.sha256)
        thumb_keys = [derivative_key(owner, str(image_id), kind) for kind in analyzed.thumbnails]
        blobs = self.ctx.blobs
        async with self.ctx.db.for_user(owner_id) as session:
            images = ImageRepository(session, owner_id)
            await images.lock_content(staged.sha256)
            existing = await images.view_by_content(staged.sha256)
            if existing is not None:  # the same bytes committed while we decoded them
                return IngestResult(view=existing, created=False)
            known = await images.holds_original(staged.sha256)
            wrote: list[str] = []
            try:
                await anyio.to_thread.run_sync(blobs.put_file, blob_key, staged.path)
                if not known:
                    wrote.append(blob_key)
                for key, data in zip(thumb_keys, analyzed.thumbnails.values(), strict=True):
                    await anyio.to_thread.run_sync(blobs.put_bytes, key, data)
                    wrote.append(key)
                image = self._new_image(image_id, staged, analyzed, filename, fields)
                await images.add(image)
                await images.put_thumbnails(
                    image_id,
                    [
                        Thumbnail(
                            kind=kind, content_type=THUMBNAIL_CONTENT_TYPE, byte_size=len(data)
                        )
                        for kind, data in analyzed.thumbnails.items()
                    ],
                )
                await set_image_tags(session, owner_id, image_id, tag_names)
                await refresh_search_documents(session, owner_id, [image_id])
            except BaseException:
                # Still inside the transaction, so still under the content lock: no other
                # upload of these bytes can have started using the files we remove.
                for key in wrote:
                    await clean_up_in_thread(blobs.delete, key)
                raise
            return IngestResult(
                view=ImageView(image=image, tags=sorted(tag_names, key=str.lower)), created=True
            )

    def _new_image(
        self,
        image_id: uuid.UUID,
        staged: StagedUpload,
        analyzed: AnalyzedImage,
        filename: str,
        fields: SidecarFields,
    ) -> Image:
        meta = analyzed.metadata
        now = self.ctx.clock()
        gps = meta.gps
        taken_at, offset = meta.taken_at, meta.taken_at_offset_minutes
        taken_at_source: str | None = meta.taken_at_source
        if fields.taken_at is not None and not _same_capture_time(fields, meta):
            taken_at, taken_at_source = fields.taken_at, "sidecar"
            offset = fields.taken_at_offset_minutes
        latitude, longitude, altitude = (
            (gps.latitude, gps.longitude, gps.altitude) if gps else (None, None, None)
        )
        if fields.latitude is not None and fields.longitude is not None:
            latitude, longitude, altitude = fields.latitude, fields.longitude, fields.altitude
        return Image(
            id=image_id,
            sha256=staged.sha256,
            original_filename=filename,
            content_type=analyzed.content_type,
            byte_size=staged.byte_size,
            width=analyzed.width,
            height=analyzed.height,
            orientation=analyzed.orientation,
            taken_at=taken_at or now,
            taken_at_source=taken_at_source or "upload",
            taken_at_offset_minutes=offset,
            uploaded_at=now,
            updated_at=now,
            camera_make=meta.camera_make,
            camera_model=meta.camera_model,
            latitude=latitude,
            longitude=longitude,
            altitude=altitude,
            exif=meta.exif,
            title=fields.title,
            description=fields.description,
            favorite=bool(fields.favorite),
            damaged=analyzed.damaged,
            trashed_at=None,
        )


def _same_capture_time(fields: SidecarFields, meta: ImageMetadata) -> bool:
    """Whether a sidecar's time without an offset is the moment the EXIF gives with one.

    Takeout gives the instant, an XMP writer often the wall time without its zone; when
    either is the EXIF's time, the EXIF's says more (its offset) and stays.
    """
    if fields.taken_at is None or fields.taken_at_offset_minutes is not None:
        return False
    if meta.taken_at is None or meta.taken_at_offset_minutes is None:
        return False
    # The EXIF's time is held in its own zone: its wall time, read as UTC, is the form an
    # XMP time without a zone takes here.
    return fields.taken_at in (meta.taken_at, meta.taken_at.replace(tzinfo=UTC))
