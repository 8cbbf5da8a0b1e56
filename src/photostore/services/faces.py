"""Faces found in images: boxes, scores, embeddings, and the person each one shows.

Assigning, moving or unassigning a face changes which names its image is found by, so
each change rebuilds that image's search document in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from photostore.db.repositories.faces import FaceRepository
from photostore.db.repositories.ownership import ensure_owned
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.domain.faces import Face, NewFace
from photostore.errors import InvalidInput
from photostore.services.batches import check_batch_size, check_each_once
from photostore.services.context import ServiceContext

# An image holds at most this many faces, so its face list is always one short answer.
MAX_FACES_PER_IMAGE = 1000


class FaceService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def add(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, faces: Sequence[NewFace]
    ) -> list[Face]:
        """Store faces found in the image; every ``person_id`` must be the owner's."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id], for_update=True)
            person_ids = {f.person_id for f in faces if f.person_id is not None}
            await ensure_owned(session, "person", owner_id, person_ids)
            repository = FaceRepository(session, owner_id)
            if await repository.count_of_image(image_id) + len(faces) > MAX_FACES_PER_IMAGE:
                raise InvalidInput(f"an image holds at most {MAX_FACES_PER_IMAGE} faces")
            stored = await repository.add(image_id, faces, self.ctx.clock())
            if person_ids:
                await refresh_search_documents(session, owner_id, [image_id])
            return stored

    async def add_many(
        self, owner_id: uuid.UUID, found: Sequence[tuple[uuid.UUID, Sequence[NewFace]]]
    ) -> list[list[Face]]:
        """:meth:`add` for many images in one transaction, all or nothing: the stored faces
        of each item, in the items' order."""
        image_ids = [image_id for image_id, _ in found]
        check_batch_size(len(image_ids), "items")
        check_each_once(image_ids, "items")
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, image_ids, for_update=True)
            person_ids = {f.person_id for _, faces in found for f in faces if f.person_id}
            await ensure_owned(session, "person", owner_id, person_ids)
            repository = FaceRepository(session, owner_id)
            now = self.ctx.clock()
            stored: list[list[Face]] = []
            named: list[uuid.UUID] = []
            for position, (image_id, faces) in enumerate(found):
                if await repository.count_of_image(image_id) + len(faces) > MAX_FACES_PER_IMAGE:
                    raise InvalidInput(
                        f"items[{position}]: an image holds at most {MAX_FACES_PER_IMAGE} faces"
                    )
                stored.append(await repository.add(image_id, faces, now))
                if any(f.person_id is not None for f in faces):
                    named.append(image_id)
            if named:
                await refresh_search_documents(session, owner_id, named)
            return stored

    async def of_image(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> list[Face]:
        """The faces of the image, oldest first."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            return await FaceRepository(session, owner_id).of_image(image_id)

    async def assign(
        self, owner_id: uuid.UUID, face_id: uuid.UUID, person_id: uuid.UUID | None
    ) -> Face:
        """Show the face as ``person_id`` (assign or move), or as nobody (None)."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "face", owner_id, [face_id], for_update=True)
            if person_id is not None:
                await ensure_owned(session, "person", owner_id, [person_id])
            face = await FaceRepository(session, owner_id).set_person(face_id, person_id)
            await refresh_search_documents(session, owner_id, [face.image_id])
            return face

    async def delete(self, owner_id: uuid.UUID, face_id: uuid.UUID) -> None:
        async with self.ctx.db.for_user(owner_id) as session:
            image_id = await FaceRepository(session, owner_id).delete(face_id)
            await refresh_search_documents(session, owner_id, [image_id])
