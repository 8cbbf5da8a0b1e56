"""Routes: changes to many images at once (``/v1/images/batch``, ``/trash``, ``/restore``).

Each is one transaction of up to 1,000 images, all or nothing (``services.image_batches``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from photostore.api.deps import ImagesWriter, ServiceOf
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.common import ImageIds
from photostore.api.schemas.images import ImageChangeBatch, ImageList
from photostore.services.image_batches import ImageBatchService

router = APIRouter(prefix="/v1/images", tags=["images"], route_class=GuardedRoute)

Batches = Annotated[ImageBatchService, Depends(ServiceOf(ImageBatchService))]


@router.post("/batch", response_model=ImageList)
async def update_images(
    body: ImageChangeBatch, principal: ImagesWriter, batches: Batches
) -> ImageList:
    """Change the fields of many images, as a PATCH of each would.

    Each item names an image (``id``) and any of the fields of ``PATCH
    /v1/images/{image_id}``. A wrong item is a 422 naming its position and an image not
    the caller's a 404; either way nothing of the batch is stored.
    """
    items = [(item.id, item.changes()) for item in body.items]
    return ImageList.of(await batches.update_many(principal.user_id, items))


@router.post("/trash", response_model=ImageList)
async def trash_images(body: ImageIds, principal: ImagesWriter, batches: Batches) -> ImageList:
    """Move many images to the trash; one already there keeps its time."""
    return ImageList.of(await batches.trash_many(principal.user_id, body.image_ids))


@router.post("/restore", response_model=ImageList)
async def restore_images(body: ImageIds, principal: ImagesWriter, batches: Batches) -> ImageList:
    """Take many images out of the trash."""
    return ImageList.of(await batches.restore_many(principal.user_id, body.image_ids))
