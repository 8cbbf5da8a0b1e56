"""The rows of ``people``, and the links of ``faces`` to them: one owner's people, in the
transaction of the caller."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    RowMapping,
    ScalarSelect,
    Select,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.db.repositories.keyset import keyset_page
from photostore.domain.pages import Slice
from photostore.domain.people import Person, PersonChanges
from photostore.errors import NotFound
from photostore.ids import new_id


def _face_count() -> ScalarSelect[int]:
    """The faces showing the person, as a column of a statement on ``people``."""
    return (
        select(func.count())
        .where(
            models.Face.owner_id == models.Person.owner_id,
            models.Face.person_id == models.Person.id,
        )
        .correlate(models.Person)
        .scalar_subquery()
    )


_COLUMNS = (
    models.Person.id,
    models.Person.name,
    models.Person.hidden,
    _face_count().label("face_count"),
    models.Person.created_at,
    models.Person.updated_at,
)


class PersonRepository:
    """People of one owner, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def add(self, name: str | None, created_at: datetime) -> Person:
        """A new person, shown by no face yet."""
        person = Person(
            id=new_id(),
            name=name,
            hidden=False,
            face_count=0,
            created_at=created_at,
            updated_at=created_at,
        )
        await self._session.execute(
            insert(models.Person).values(
                owner_id=self._owner_id,
                id=person.id,
                name=person.name,
                hidden=person.hidden,
                created_at=person.created_at,
                updated_at=person.updated_at,
            )
        )
        return person

    async def get(self, person_id: uuid.UUID) -> Person:
        """The person; NotFound if it is not the owner's."""
        row = (
            await self._session.execute(select(*_COLUMNS).where(self._is(person_id)))
        ).one_or_none()
        if row is None:
            raise NotFound("no such person")
        return _person(row._mapping)

    async def page(
        self,
        hidden: bool,
        named: bool | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> Slice[Person]:
        """Up to ``limit`` people after the (created_at, id) ``after``, newest first, hidden
        or not, only named or unnamed ones unless ``named`` is None."""
        stmt = select(*_COLUMNS).where(
            models.Person.owner_id == self._owner_id, models.Person.hidden.is_(hidden)
        )
        if named is not None:
            name = models.Person.name
            stmt = stmt.where(name.is_not(None) if named else name.is_(None))
        return await keyset_page(
            self._session,
            stmt,
            models.Person.created_at,
            models.Person.id,
            after,
            limit,
            _person,
            descending=True,
        )

    async def of_image(self, image_id: uuid.UUID) -> list[Person]:
        """People with a face in the image (hidden ones too), by name then id."""
        shown = select(models.Face.person_id).where(
            models.Face.owner_id == self._owner_id, models.Face.image_id == image_id
        )
        rows = await self._session.execute(
            select(*_COLUMNS)
            .where(models.Person.owner_id == self._owner_id, models.Person.id.in_(shown))
            .order_by(models.Person.name.nulls_last(), models.Person.id)
        )
        return [_person(row._mapping) for row in rows]

    async def update(
        self, person_id: uuid.UUID, changes: PersonChanges, updated_at: datetime
    ) -> Person:
        """Apply the fields of ``changes`` (checked by the caller); NotFound if not the owner's."""
        values: dict[str, Any] = {"updated_at": updated_at}
        if "name" in changes.fields:
            values["name"] = changes.name
        if "hidden" in changes.fields:
            values["hidden"] = changes.hidden
        return await self._set(person_id, values)

    async def touch(self, person_id: uuid.UUID, updated_at: datetime) -> Person:
        """Mark the person changed (their faces were); NotFound if not the owner's."""
        return await self._set(person_id, {"updated_at": updated_at})

    async def delete(self, person_id: uuid.UUID) -> None:
        """Delete the person; the database shows their faces as nobody."""
        deleted = await self._session.scalar(
            delete(models.Person).where(self._is(person_id)).returning(models.Person.id)
        )
        if deleted is None:
            raise NotFound("no such person")

    async def show_faces(
        self, person_id: uuid.UUID, face_ids: Collection[uuid.UUID]
    ) -> list[uuid.UUID]:
        """Show the faces (the owner's, checked by the caller) as the person, taking them
        from whoever showed them before; the ids of their images, each once."""
        image_ids = await self._session.scalars(
            update(models.Face)
            .where(models.Face.owner_id == self._owner_id, models.Face.id.in_(set(face_ids)))
            .values(person_id=person_id)
            .returning(models.Face.image_id)
        )
        return list(set(image_ids))

    async def absorb(self, person_id: uuid.UUID, others: Collection[uuid.UUID]) -> None:
        """Move the faces of ``others`` (the owner's, checked by the caller) to the person
        and delete ``others``."""
        wanted = set(others)
        await self._session.execute(
            update(models.Face)
            .where(models.Face.owner_id == self._owner_id, models.Face.person_id.in_(wanted))
            .values(person_id=person_id)
        )
        await self._session.execute(
            delete(models.Person).where(
                models.Person.owner_id == self._owner_id, models.Person.id.in_(wanted)
            )
        )

    async def shown_in(self, person_id: uuid.UUID) -> list[uuid.UUID]:
        """The ids of the images showing the person."""
        return list(await self._session.scalars(person_image_ids(self._owner_id, person_id)))

    async def _set(self, person_id: uuid.UUID, values: dict[str, Any]) -> Person:
        row = (
            await self._session.execute(
                update(models.Person).where(self._is(person_id)).values(values).returning(*_COLUMNS)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("no such person")
        return _person(row._mapping)

    def _is(self, person_id: uuid.UUID) -> ColumnElement[bool]:
        return and_(models.Person.owner_id == self._owner_id, models.Person.id == person_id)


def _person(row: RowMapping) -> Person:
    return Person(**row)


def person_image_ids(owner_id: uuid.UUID, person_id: uuid.UUID) -> Select[uuid.UUID]:
    """The ids of the images showing the person, each once, as a subquery."""
    return (
        select(models.Face.image_id)
        .where(models.Face.owner_id == owner_id, models.Face.person_id == person_id)
        .distinct()
    )
