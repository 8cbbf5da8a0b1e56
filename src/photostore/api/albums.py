"""Routes: albums (``/v1/albums``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from photostore.api.deps import AlbumServiceDep, ImagesReader, LibraryWriter, PageLimit
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.albums import AlbumCreate, AlbumOut, AlbumPage, AlbumPatch
from photostore.api.schemas.common import ImageIds
from photostore.api.schemas.images import ImagePage

router = APIRouter(prefix="/v1/albums", tags=["albums"], route_class=GuardedRoute)

Cursor = Annotated[str | None, Query(max_length=512)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AlbumOut)
async def create_album(
    body: AlbumCreate, principal: LibraryWriter, albums: AlbumServiceDep
) -> AlbumOut:
    return AlbumOut.of(await albums.create(principal.user_id, body.name, body.description))


@router.get("", response_model=AlbumPage)
async def list_albums(
    principal: ImagesReader, albums: AlbumServiceDep, limit: PageLimit = 100, cursor: Cursor = None
) -> AlbumPage:
    """Albums newest first, with the number of images (not trashed) in each."""
    return AlbumPage.of(await albums.page(principal.user_id, limit, cursor))


@router.get("/{album_id}", response_model=AlbumOut)
async def get_album(
    album_id: uuid.UUID, principal: ImagesReader, albums: AlbumServiceDep
) -> AlbumOut:
    return AlbumOut.of(await albums.get(principal.user_id, album_id))


@router.patch("/{album_id}", response_model=AlbumOut)
async def update_album(
    album_id: uuid.UUID, body: AlbumPatch, principal: LibraryWriter, albums: AlbumServiceDep
) -> AlbumOut:
    """Rename the album or change its description (null clears it)."""
    return AlbumOut.of(await albums.update(principal.user_id, album_id, body.changes()))


@router.delete("/{album_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_album(
    album_id: uuid.UUID, principal: LibraryWriter, albums: AlbumServiceDep
) -> Response:
    """Delete the album; its images stay."""
    await albums.delete(principal.user_id, album_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{album_id}/images", response_model=AlbumOut)
async def add_album_images(
    album_id: uuid.UUID, body: ImageIds, principal: LibraryWriter, albums: AlbumServiceDep
) -> AlbumOut:
    """Put up to 1000 images in the album; those already in it are left as they are."""
    return AlbumOut.of(await albums.add_images(principal.user_id, album_id, body.image_ids))


@router.post("/{album_id}/images/remove", response_model=AlbumOut)
async def remove_album_images(
    album_id: uuid.UUID, body: ImageIds, principal: LibraryWriter, albums: AlbumServiceDep
) -> AlbumOut:
    """Take up to 1000 images out of the album; others are left as they are."""
    return AlbumOut.of(await albums.remove_images(principal.user_id, album_id, body.image_ids))


@router.get("/{album_id}/images", response_model=ImagePage)
async def album_images(
    album_id: uuid.UUID,
    principal: ImagesReader,
    albums: AlbumServiceDep,
    limit: PageLimit = 100,
    cursor: Cursor = None,
) -> ImagePage:
    """Images in the album, newest ``taken_at`` first, none from the trash."""
    return ImagePage.of(await albums.images(principal.user_id, album_id, limit, cursor))
