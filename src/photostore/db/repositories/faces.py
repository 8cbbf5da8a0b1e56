"""The rows of ``faces``: one owner's faces, in the transaction of the caller."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.domain.faces import Face, NewFace
from photostore.errors import NotFound
from photostore.ids import new_id

# Every column but the embedding, which no caller reads back: only whether there is one.
_COLUMNS = (
    models.Face.id,
    models.Face.image_id,
    models.Face.person_id,
    models.Face.box_x,
    models.Face.box_y,
    models.Face.box_width,
    models.Face.box_height,
    models.Face.score,
    models.Face.model,
    models.Face.embedding.is_not(None).label("has_embedding"),
    models.Face.created_at,
)


class FaceRepository:
    """Faces of one owner, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def count_of_image(self, image_id: uuid.UUID) -> int:
        """How many faces the image holds."""
        held = await self._session.scalar(
            select(func.count()).where(
                models.Face.owner_id == self._owner_id, models.Face.image_id == image_id
            )
        )
        return held or 0

    async def add(
        self, image_id: uuid.UUID, faces: Sequence[NewFace], created_at: datetime
    ) -> list[Face]:
        """Store ``faces`` on the image, in order (the caller checks image and people)."""
        ids = [new_id() for _ in faces]
        rows = [
            {
                "owner_id": self._owner_id,
                "id": face_id,
                "image_id": image_id,
                "person_id": f.person_id,
                "box_x": f.box_x,
                "box_y": f.box_y,
                "box_width": f.box_width,
                "box_height": f.box_height,
                "score": f.score,
                "model": f.model,
                "embedding": f.embedding,
                "created_at": created_at,
            }
            for face_id, f in zip(ids, faces, strict=True)
        ]
        await self._session.execute(insert(models.Face), rows)
        return [
            Face(
                id=face_id,
                image_id=image_id,
                person_id=f.person_id,
                box_x=f.box_x,
                box_y=f.box_y,
                box_width=f.box_width,
                box_height=f.box_height,
                score=f.score,
                model=f.model,
                has_embedding=f.embedding is not None,
                created_at=created_at,
            )
            for face_id, f in zip(ids, faces, strict=True)
        ]

    async def of_image(self, image_id: uuid.UUID) -> list[Face]:
        """The faces of the image, oldest first."""
        rows = await self._session.execute(
            select(*_COLUMNS)
            .where(models.Face.owner_id == self._owner_id, models.Face.image_id == image_id)
            .order_by(models.Face.created_at, models.Face.id)
        )
        return [_face(row._mapping) for row in rows]

    async def set_person(self, face_id: uuid.UUID, person_id: uuid.UUID | None) -> Face:
        """Show the face as ``person_id`` (None: nobody); NotFound if it is not the owner's."""
        row = (
            await self._session.execute(
                update(models.Face)
                .where(models.Face.owner_id == self._owner_id, models.Face.id == face_id)
                .values(person_id=person_id)
                .returning(*_COLUMNS)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("no such face")
        return _face(row._mapping)

    async def delete(self, face_id: uuid.UUID) -> uuid.UUID:
        """Delete the face and return its image's id; NotFound if it is not the owner's."""
        image_id: uuid.UUID | None = await self._session.scalar(
            delete(models.Face)
            .where(models.Face.owner_id == self._owner_id, models.Face.id == face_id)
            .returning(models.Face.image_id)
        )
        if image_id is None:
            raise NotFound("no such face")
        return image_id


def _face(row: RowMapping) -> Face:
    return Face(**row)
