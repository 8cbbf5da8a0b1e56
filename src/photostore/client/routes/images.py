"""Images: uploads, the timeline, changes one by one and in batches, and their files."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Literal, Unpack

from photostore.client._call import (
    Call,
    Destination,
    Download,
    FileSource,
    FormValue,
    Id,
    Upload,
    ids,
    query,
    range_header,
    segment,
)
from photostore.client._route import route
from photostore.client.schemas import (
    ChangePage,
    ImageChangeItem,
    ImageList,
    ImageOut,
    ImagePage,
    ImagePatch,
)


def _file_call(path: str, destination: Destination | None, span: tuple[int, int | None] | None,
               size: str | None = None) -> Call[Download]:  # fmt: skip
    return Call(
        "GET",
        path,
        params=query(size=size),
        headers=range_header(*span) if span is not None else {},
        reading="download",
        destination=destination,
    )


class ImageRoutes:
    @route
    def upload_image(
        file: FileSource,
        *,
        filename: str | None = None,
        title: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        taken_at: datetime | str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        altitude: float | None = None,
        favorite: bool | None = None,
        sidecar: bytes | str | os.PathLike[str] | None = None,
    ) -> Call[ImageOut]:
        """Store an original: ``file`` is a path, bytes or a binary file object, sent in
        chunks as it is read. The same bytes again give the image stored before.
        ``filename`` is the name recorded (by default the path's or the file's);
        ``sidecar`` an XMP or Google Takeout JSON document (bytes or a path), whose
        values the fields given here win over."""
        given = query(
            title=title, description=description, taken_at=taken_at, latitude=latitude,
            longitude=longitude, altitude=altitude, favorite=favorite,
        )  # fmt: skip
        fields: dict[str, FormValue] = {
            name: str(value).lower() if isinstance(value, bool) else str(value)
            for name, value in given.items()
        }
        if tags is not None:
            fields["tags"] = tags
        upload = Upload(file, filename, fields=fields, sidecar=sidecar)
        return Call("POST", "/v1/images", upload=upload)

    @route
    def list_images(
        *,
        taken_after: datetime | str | None = None,
        taken_before: datetime | str | None = None,
        tag: str | None = None,
        favorite: bool | None = None,
        trashed: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Call[ImagePage]:
        """One page of the timeline, newest first (``iter_images`` walks every page)."""
        params = query(
            taken_after=taken_after, taken_before=taken_before, tag=tag, favorite=favorite,
            trashed=trashed, limit=limit, cursor=cursor,
        )  # fmt: skip
        return Call("GET", "/v1/images", params=params)

    @route
    def list_changes(
        *, cursor: str | None = None, limit: int | None = None, latest: bool | None = None
    ) -> Call[ChangePage]:
        """What changed after ``cursor``, oldest first; ``next_cursor`` is always given, to
        poll with (``iter_changes`` walks what has changed so far and stops)."""
        params = query(cursor=cursor, limit=limit, latest=latest)
        return Call("GET", "/v1/changes", params=params)

    @route
    def get_image(image_id: Id) -> Call[ImageOut]:
        return Call("GET", f"/v1/images/{segment(image_id)}")

    @route
    def update_image(image_id: Id, **changes: Unpack[ImagePatch]) -> Call[ImageOut]:
        """Change the fields named (``title=None`` clears the title); others stay."""
        return Call("PATCH", f"/v1/images/{segment(image_id)}", json=changes)

    @route
    def delete_image(image_id: Id, *, purge: bool = False) -> Call[ImageOut | None]:
        """Move to the trash (the record), or with ``purge`` delete for good (None)."""
        params = query(purge=True) if purge else {}
        return Call("DELETE", f"/v1/images/{segment(image_id)}", params=params)

    @route
    def restore_image(image_id: Id) -> Call[ImageOut]:
        return Call("POST", f"/v1/images/{segment(image_id)}/restore")

    @route
    def update_images(items: list[ImageChangeItem]) -> Call[ImageList]:
        """Change up to 1000 images in one transaction: all or none."""
        return Call("POST", "/v1/images/batch", json={"items": items})

    @route
    def trash_images(image_ids: list[Id]) -> Call[ImageList]:
        return Call("POST", "/v1/images/trash", json={"image_ids": ids(image_ids)})

    @route
    def restore_images(image_ids: list[Id]) -> Call[ImageList]:
        return Call("POST", "/v1/images/restore", json={"image_ids": ids(image_ids)})

    @route
    def get_original(
        image_id: Id,
        to: Destination | None = None,
        *,
        byte_range: tuple[int, int | None] | None = None,
    ) -> Call[Download]:
        """The original file, written in chunks to ``to`` (a path or a binary file), or
        kept in ``Download.content`` without one. ``byte_range=(first, last)`` asks for
        those bytes, inclusive (``last`` None: to the end), answered with 206."""
        return _file_call(f"/v1/images/{segment(image_id)}/content", to, byte_range)

    @route
    def get_thumbnail(
        image_id: Id,
        to: Destination | None = None,
        *,
        size: Literal["small", "preview"] | None = None,
        byte_range: tuple[int, int | None] | None = None,
    ) -> Call[Download]:
        """A thumbnail (``small`` by default), as :meth:`get_original` sends a file."""
        path = f"/v1/images/{segment(image_id)}/thumbnail"
        return _file_call(path, to, byte_range, size)

    @route
    def export_library(to: Destination | None = None) -> Call[Download]:
        """The caller's whole library as a tar archive (docs/export-format.md), written
        in chunks to ``to`` (a path or a binary file), or kept in ``Download.content``
        without one; ``photostore import`` reads it back once unpacked."""
        return _file_call("/v1/export", to, None)
