"""Routes: the tag library (``/v1/tags``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from photostore.api.deps import ImagesReader, LibraryWriter, PageLimit, TagServiceDep
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.common import ImageIds
from photostore.api.schemas.images import ImagePage
from photostore.api.schemas.tags import TagIn, TagOut, TagPage

router = APIRouter(prefix="/v1/tags", tags=["tags"], route_class=GuardedRoute)

Cursor = Annotated[str | None, Query(max_length=512)]


@router.get("", response_model=TagPage)
async def list_tags(
    principal: ImagesReader, tags: TagServiceDep, limit: PageLimit = 100, cursor: Cursor = None
) -> TagPage:
    """Tags by name, ignoring case, with the number of images (not trashed) carrying each."""
    return TagPage.of(await tags.page(principal.user_id, limit, cursor))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TagOut)
async def create_tag(body: TagIn, principal: LibraryWriter, tags: TagServiceDep) -> TagOut:
    return TagOut.of(await tags.create(principal.user_id, body.name))


@router.patch("/{tag_id}", response_model=TagOut)
async def rename_tag(
    tag_id: uuid.UUID, body: TagIn, principal: LibraryWriter, tags: TagServiceDep
) -> TagOut:
    return TagOut.of(await tags.rename(principal.user_id, tag_id, body.name))


@router.delete("/{tag_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_tag(tag_id: uuid.UUID, principal: LibraryWriter, tags: TagServiceDep) -> Response:
    """Delete the tag; its images stay."""
    await tags.delete(principal.user_id, tag_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{tag_id}/images", response_model=TagOut)
async def tag_images(
    tag_id: uuid.UUID, body: ImageIds, principal: LibraryWriter, tags: TagServiceDep
) -> TagOut:
    """Tag up to 1000 images at once; already tagged ones are left as they are."""
    return TagOut.of(await tags.add_images(principal.user_id, tag_id, body.image_ids))


@router.post("/{tag_id}/images/remove", response_model=TagOut)
async def untag_images(
    tag_id: uuid.UUID, body: ImageIds, principal: LibraryWriter, tags: TagServiceDep
) -> TagOut:
    """Untag up to 1000 images at once; untagged ones are left as they are."""
    return TagOut.of(await tags.remove_images(principal.user_id, tag_id, body.image_ids))


@router.get("/{tag_id}/images", response_model=ImagePage)
async def tagged_images(
    tag_id: uuid.UUID,
    principal: ImagesReader,
    tags: TagServiceDep,
    limit: PageLimit = 100,
    cursor: Cursor = None,
) -> ImagePage:
    """Images carrying the tag, newest ``taken_at`` first, none from the trash."""
    return ImagePage.of(await tags.images(principal.user_id, tag_id, limit, cursor))
