"""Faces found in images: boxes, scores, embeddings, and the person each one shows.

Assigning, moving or unassigning a face changes which names its image is found by, so
each change rebuilds that image's search document in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from photostore.db.models import Face, Image, Person
from photostore.errors import InvalidInput
from photostore.ids import new_id
from photostore.services.context import ServiceContext
from photostore.services.ownership import ensure_all_owned, load_owned
from photostore.services.search_documents import refresh_search_documents

# An image holds at most this many faces, so its face list is always one short answer.
MAX_FACES_PER_IMAGE = 1000


@dataclass(frozen=True)
class NewFace:
    """A face to store: box in relative coordinates (checked by the caller), 0..1 score."""

    box_x: float
    box_y: float
    box_width: float
    box_height: float
    score: float
    model: str
    embedding: list[float] | None = None
    person_id: uuid.UUID | None = None


class FaceService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def add(
        self, owner_id: uuid.UUID, image_id: uuid.UUID, faces: Sequence[NewFace]
    ) -> list[Face]:
        """Store faces found in the image; every ``person_id`` must be the owner's."""
        async with self.ctx.db.for_user(owner_id) as session:
            await load_owned(session, Image, owner_id, image_id, "image", for_update=True)
            person_ids = {f.person_id for f in faces if f.person_id is not None}
            await ensure_all_owned(
                session, Person.owner_id, Person.id, owner_id, person_ids, "person"
            )
            held = await session.scalar(
                select(func.count()).where(Face.owner_id == owner_id, Face.image_id == image_id)
            )
            if (held or 0) + len(faces) > MAX_FACES_PER_IMAGE:
                raise InvalidInput(f"an image holds at most {MAX_FACES_PER_IMAGE} faces")
            now = self.ctx.clock()
            rows = [
                Face(
                    owner_id=owner_id,
                    id=new_id(),
                    image_id=image_id,
                    person_id=f.person_id,
                    box_x=f.box_x,
                    box_y=f.box_y,
                    box_width=f.box_width,
                    box_height=f.box_height,
                    score=f.score,
                    model=f.model,
                    embedding=f.embedding,
                    created_at=now,
                )
                for f in faces
            ]
            session.add_all(rows)
            await session.flush()
            if person_ids:
                await refresh_search_documents(session, owner_id, [image_id])
            return rows

    async def of_image(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> list[Face]:
        """The faces of the image, oldest first."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_all_owned(session, Image.owner_id, Image.id, owner_id, [image_id], "image")
            rows = await session.scalars(
                select(Face)
                .where(Face.owner_id == owner_id, Face.image_id == image_id)
                .order_by(Face.created_at, Face.id)
            )
            return list(rows.all())

    async def assign(
        self, owner_id: uuid.UUID, face_id: uuid.UUID, person_id: uuid.UUID | None
    ) -> Face:
        """Show the face as ``person_id`` (assign or move), or as nobody (None)."""
        async with self.ctx.db.for_user(owner_id) as session:
            face = await load_owned(session, Face, owner_id, face_id, "face", for_update=True)
            if person_id is not None:
                await ensure_all_owned(
                    session, Person.owner_id, Person.id, owner_id, [person_id], "person"
                )
            face.person_id = person_id
            await session.flush()
            await refresh_search_documents(session, owner_id, [face.image_id])
            return face

    async def delete(self, owner_id: uuid.UUID, face_id: uuid.UUID) -> None:
        async with self.ctx.db.for_user(owner_id) as session:
            face = await load_owned(session, Face, owner_id, face_id, "face", for_update=True)
            image_id = face.image_id
            await session.delete(face)
            await session.flush()
            await refresh_search_documents(session, owner_id, [image_id])
