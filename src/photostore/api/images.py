"""Routes: images (``/v1/images``): upload, read, list, change, trash, originals, thumbnails."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AwareDatetime

from photostore.api.blob_responses import ORIGINAL, THUMBNAIL, blob_response
from photostore.api.deps import (
    ContextDep,
    ImageServiceDep,
    ImagesReader,
    ImagesWriter,
    IngestServiceDep,
    PageLimit,
)
from photostore.api.multipart import receive_upload
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.images import ImageOut, ImagePage, ImagePatch
from photostore.domain.images import TimelineFilters
from photostore.errors import BlobMissing, Unreadable
from photostore.services.upload_fields import (
    MAX_SIDECAR_PART_BYTES,
    SIDECAR_PARTS,
    UPLOAD_TEXT_FIELDS,
)
from photostore.storage.base import UncheckedBlob
from photostore.text_rules import MAX_DESCRIPTION_LENGTH, MAX_TAG_LENGTH, MAX_TITLE_LENGTH

router = APIRouter(prefix="/v1/images", tags=["images"], route_class=GuardedRoute)


class ThumbnailSize(StrEnum):
    SMALL = "small"
    PREVIEW = "preview"


_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "title": {"type": "string", "maxLength": MAX_TITLE_LENGTH},
                        "description": {"type": "string", "maxLength": MAX_DESCRIPTION_LENGTH},
                        "tags": {
                            "type": "array",
                            "items": {"type": "string", "maxLength": MAX_TAG_LENGTH},
                            "description": "repeat the field, or separate names with commas",
                        },
                        "taken_at": {
                            "type": "string",
                            "format": "date-time",
                            "description": "with its offset: 2024-05-06T07:08:09+02:00",
                        },
                        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
                        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
                        "altitude": {
                            "type": "number",
                            "description": "metres; only with latitude and longitude",
                        },
                        "favorite": {"type": "boolean"},
                        **{
                            part: {
                                "type": "string",
                                "format": "binary",
                                "maxLength": MAX_SIDECAR_PART_BYTES,
                                "description": (
                                    "an XMP packet or a Google Takeout JSON document; "
                                    "send one sidecar or xmp part at most"
                                ),
                            }
                            for part in SIDECAR_PARTS
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ImageOut,
    openapi_extra=_UPLOAD_DOC,
    responses={200: {"model": ImageOut, "description": "The same bytes were stored before"}},
)
async def upload_image(
    request: Request,
    response: Response,
    principal: ImagesWriter,
    uploads: IngestServiceDep,
    ctx: ContextDep,
) -> ImageOut:
    """Store an original (JPEG, PNG, WebP, GIF, TIFF, HEIC), byte-exact.

    Fields: ``file`` (required), ``title``, ``description``, ``tags`` (repeat the field,
    or separate names with commas), ``taken_at``, ``latitude``, ``longitude``,
    ``altitude``, ``favorite``, and a ``sidecar`` (or ``xmp``) part holding an XMP or
    Google Takeout JSON document. They win over the file's EXIF, the fields over the
    sidecar. The same bytes again give 200 and the existing record, unchanged.
    """
    form = await receive_upload(
        request,
        ctx.staging_folder(),
        ctx.settings.max_upload_bytes,
        allowed_fields=UPLOAD_TEXT_FIELDS,
        space=ctx.free_space,
        attachment_limits=dict.fromkeys(SIDECAR_PARTS, MAX_SIDECAR_PART_BYTES),
    )
    document = next(iter(form.attachments.values()), None)
    result = await uploads.ingest_upload(
        principal.user_id, form.staged, form.filename, form.fields, document
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/images/{result.view.image.id}"
    return ImageOut.of(result.view)


@router.get("", response_model=ImagePage)
async def list_images(
    principal: ImagesReader,
    images: ImageServiceDep,
    taken_after: AwareDatetime | None = None,
    taken_before: AwareDatetime | None = None,
    tag: Annotated[str | None, Query(max_length=MAX_TAG_LENGTH)] = None,
    favorite: bool | None = None,
    damaged: bool | None = None,
    created_after: AwareDatetime | None = None,
    updated_after: AwareDatetime | None = None,
    missing_analysis: Annotated[str | None, Query(pattern=r"^[a-z0-9._-]{1,100}$")] = None,
    missing_vector: Annotated[str | None, Query(pattern=r"^[a-z0-9._-]{1,100}$")] = None,
    trashed: bool = False,
    limit: PageLimit = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ImagePage:
    """The timeline, newest ``taken_at`` first, in pages joined by ``next_cursor``.

    ``created_after`` and ``updated_after`` keep the images stored or changed at or after
    a time; ``missing_analysis`` those without a result of that analyzer and
    ``missing_vector`` those without a vector in that space (404 if the caller has no
    such space): what a service still has to do.
    """
    filters = TimelineFilters(
        taken_after=taken_after,
        taken_before=taken_before,
        created_after=created_after,
        updated_after=updated_after,
        tag=tag,
        favorite=favorite,
        damaged=damaged,
        missing_analysis=missing_analysis,
        missing_vector=missing_vector,
        trashed=trashed,
    )
    return ImagePage.of(await images.timeline(principal.user_id, filters, limit, cursor))


@router.get("/{image_id}", response_model=ImageOut)
async def get_image(
    image_id: uuid.UUID, principal: ImagesReader, images: ImageServiceDep
) -> ImageOut:
    return ImageOut.of(await images.get(principal.user_id, image_id))


@router.patch("/{image_id}", response_model=ImageOut)
async def update_image(
    image_id: uuid.UUID, body: ImagePatch, principal: ImagesWriter, images: ImageServiceDep
) -> ImageOut:
    """Change title, description, taken_at (recorded as source ``user``), favorite or tags."""
    return ImageOut.of(await images.update(principal.user_id, image_id, body.changes()))


@router.delete("/{image_id}", response_model=None, status_code=status.HTTP_200_OK)
async def delete_image(
    image_id: uuid.UUID,
    principal: ImagesWriter,
    images: ImageServiceDep,
    purge: bool = False,
) -> ImageOut | Response:
    """Move to the trash; with ``purge=true`` delete for good (204)."""
    if purge:
        await images.purge(principal.user_id, image_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return ImageOut.of(await images.trash(principal.user_id, image_id))


@router.post("/{image_id}/restore", response_model=ImageOut)
async def restore_image(
    image_id: uuid.UUID, principal: ImagesWriter, images: ImageServiceDep
) -> ImageOut:
    return ImageOut.of(await images.restore(principal.user_id, image_id))


@router.get("/{image_id}/content", response_class=Response)
async def get_original(
    image_id: uuid.UUID, request: Request, principal: ImagesReader, images: ImageServiceDep
) -> Response:
    """The original file, byte-exact; supports ``Range`` and ``If-None-Match``."""
    ref = await images.original(principal.user_id, image_id)
    return await blob_response(request, images, ref, ORIGINAL)


@router.get("/{image_id}/thumbnail", response_class=Response)
async def get_thumbnail(
    image_id: uuid.UUID,
    request: Request,
    principal: ImagesReader,
    images: ImageServiceDep,
    size: ThumbnailSize = ThumbnailSize.SMALL,
) -> Response:
    """A WebP thumbnail: ``small`` (256 px long edge) or ``preview`` (1440 px)."""
    ref = await images.thumbnail(principal.user_id, image_id, size.value)
    try:
        return await blob_response(request, images, ref, THUMBNAIL)
    except (BlobMissing, Unreadable, UncheckedBlob):
        # A thumbnail is made from its original: one whose file is missing, damaged from
        # its first chunk or has nothing to be checked against is made again, once.
        ref = await images.remake_thumbnail(principal.user_id, image_id, size.value)
        return await blob_response(request, images, ref, THUMBNAIL)
