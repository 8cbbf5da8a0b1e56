"""Changes to many images in one request: field updates, trash and restore.

For the other services of a photo application (a gallery's multi-select, an importer
fixing dates), each batch is one transaction of up to 1,000 items and all or nothing:
a wrong item is an :class:`~photostore.errors.InvalidInput` naming its position
(``items[7].taken_at: ...``), an id not of the caller's a NotFound, and in either case
nothing of the batch is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from photostore.db.repositories.images import ImageRepository
from photostore.db.repositories.ownership import ensure_owned
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.db.repositories.tags import set_image_tags
from photostore.domain.images import ImageChanges, ImageView
from photostore.errors import InvalidInput
from photostore.services.batches import check_batch_size, check_each_once
from photostore.services.context import ServiceContext
from photostore.services.images import check_changes


def _check_batch(image_ids: Sequence[uuid.UUID], noun: str) -> None:
    check_batch_size(len(image_ids), noun)
    check_each_once(image_ids, noun)


class ImageBatchService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def update_many(
        self, owner_id: uuid.UUID, items: Sequence[tuple[uuid.UUID, ImageChanges]]
    ) -> list[ImageView]:
        """Apply each item's changes to its image, as one PATCH each would; the images in
        the items' order."""
        _check_batch([image_id for image_id, _ in items], "items")
        tag_names: list[list[str] | None] = []
        for position, (_, changes) in enumerate(items):
            try:
                tag_names.append(check_changes(changes))
            except InvalidInput as exc:
                raise InvalidInput(f"items[{position}]: {exc.detail}") from exc
        image_ids = [image_id for image_id, _ in items]
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, image_ids, for_update=True)
            images = ImageRepository(session, owner_id)
            now = self.ctx.clock()
            views: list[ImageView] = []
            for (image_id, changes), names in zip(items, tag_names, strict=True):
                if names is not None:
                    await set_image_tags(session, owner_id, image_id, names)
                if changes.fields:
                    views.append(await images.update(image_id, changes, now))
                else:
                    views.append(await images.view(image_id))
            await refresh_search_documents(session, owner_id, image_ids)
        return views

    async def trash_many(
        self, owner_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> list[ImageView]:
        """Move the images to the trash (one already there keeps its time)."""
        return await self._set_trashed(owner_id, image_ids, trashed=True)

    async def restore_many(
        self, owner_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
    ) -> list[ImageView]:
        """Take the images out of the trash."""
        return await self._set_trashed(owner_id, image_ids, trashed=False)

    async def _set_trashed(
        self, owner_id: uuid.UUID, image_ids: Sequence[uuid.UUID], *, trashed: bool
    ) -> list[ImageView]:
        _check_batch(image_ids, "image_ids")
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, image_ids, for_update=True)
            views = await ImageRepository(session, owner_id).set_trashed_many(
                image_ids, trashed, self.ctx.clock()
            )
        return [views[image_id] for image_id in image_ids]
