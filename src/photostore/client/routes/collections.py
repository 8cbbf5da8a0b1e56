"""Tags and albums, and the images in them."""

from __future__ import annotations

from typing import Unpack

from photostore.client._call import Call, Id, ids, query, segment
from photostore.client._route import route
from photostore.client.schemas import AlbumOut, AlbumPage, AlbumPatch, ImagePage, TagOut, TagPage


class CollectionRoutes:
    @route
    def list_tags(*, limit: int | None = None, cursor: str | None = None) -> Call[TagPage]:
        return Call("GET", "/v1/tags", params=query(limit=limit, cursor=cursor))

    @route
    def create_tag(name: str) -> Call[TagOut]:
        return Call("POST", "/v1/tags", json={"name": name})

    @route
    def rename_tag(tag_id: Id, name: str) -> Call[TagOut]:
        return Call("PATCH", f"/v1/tags/{segment(tag_id)}", json={"name": name})

    @route
    def delete_tag(tag_id: Id) -> Call[None]:
        return Call("DELETE", f"/v1/tags/{segment(tag_id)}")

    @route
    def tag_images(tag_id: Id, image_ids: list[Id]) -> Call[TagOut]:
        path = f"/v1/tags/{segment(tag_id)}/images"
        return Call("POST", path, json={"image_ids": ids(image_ids)})

    @route
    def untag_images(tag_id: Id, image_ids: list[Id]) -> Call[TagOut]:
        path = f"/v1/tags/{segment(tag_id)}/images/remove"
        return Call("POST", path, json={"image_ids": ids(image_ids)})

    @route
    def tagged_images(
        tag_id: Id, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[ImagePage]:
        path = f"/v1/tags/{segment(tag_id)}/images"
        return Call("GET", path, params=query(limit=limit, cursor=cursor))

    @route
    def create_album(name: str, *, description: str | None = None) -> Call[AlbumOut]:
        return Call("POST", "/v1/albums", json={"name": name, "description": description})

    @route
    def list_albums(*, limit: int | None = None, cursor: str | None = None) -> Call[AlbumPage]:
        return Call("GET", "/v1/albums", params=query(limit=limit, cursor=cursor))

    @route
    def get_album(album_id: Id) -> Call[AlbumOut]:
        return Call("GET", f"/v1/albums/{segment(album_id)}")

    @route
    def update_album(album_id: Id, **changes: Unpack[AlbumPatch]) -> Call[AlbumOut]:
        return Call("PATCH", f"/v1/albums/{segment(album_id)}", json=changes)

    @route
    def delete_album(album_id: Id) -> Call[None]:
        return Call("DELETE", f"/v1/albums/{segment(album_id)}")

    @route
    def add_album_images(album_id: Id, image_ids: list[Id]) -> Call[AlbumOut]:
        path = f"/v1/albums/{segment(album_id)}/images"
        return Call("POST", path, json={"image_ids": ids(image_ids)})

    @route
    def remove_album_images(album_id: Id, image_ids: list[Id]) -> Call[AlbumOut]:
        path = f"/v1/albums/{segment(album_id)}/images/remove"
        return Call("POST", path, json={"image_ids": ids(image_ids)})

    @route
    def album_images(
        album_id: Id, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[ImagePage]:
        path = f"/v1/albums/{segment(album_id)}/images"
        return Call("GET", path, params=query(limit=limit, cursor=cursor))
