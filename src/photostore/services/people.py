"""People: named (or not yet named) clusters of faces.

A person's name is one of the words their images are found by, unless the person is
hidden; so naming, hiding, merging and deleting a person rebuild the search documents
of every image showing one of their faces, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ScalarSelect, Select, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import Face, Person
from photostore.db.repositories.ownership import ensure_owned, load_owned
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.errors import InvalidInput
from photostore.ids import new_id
from photostore.services.context import ServiceContext
from photostore.services.image_pages import image_page
from photostore.services.images import Page
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor

MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class PersonView:
    person: Person
    face_count: int


@dataclass(frozen=True)
class PeopleQuery:
    hidden: bool = False
    named: bool | None = None
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True)
class PeoplePage:
    items: list[PersonView]
    next_cursor: str | None


@dataclass(frozen=True)
class PersonChanges:
    """What a PATCH may change; only the names in ``fields`` are applied."""

    fields: frozenset[str]
    name: str | None = None
    hidden: bool | None = None


def clean_person_name(name: str | None) -> str | None:
    """The name stripped; blank means no name."""
    if name is None:
        return None
    name = " ".join(name.split())
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"a name must be at most {MAX_NAME_LENGTH} characters")
    return name or None


class PeopleService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(
        self, owner_id: uuid.UUID, name: str | None, face_ids: Sequence[uuid.UUID]
    ) -> PersonView:
        """A new person, showing ``face_ids`` (taken from whoever showed them before)."""
        name = clean_person_name(name)
        now = self.ctx.clock()
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "face", owner_id, face_ids)
            person = Person(
                owner_id=owner_id,
                id=new_id(),
                name=name,
                hidden=False,
                created_at=now,
                updated_at=now,
            )
            session.add(person)
            await session.flush()
            if face_ids:
                await session.execute(
                    update(Face)
                    .where(Face.owner_id == owner_id, Face.id.in_(set(face_ids)))
                    .values(person_id=person.id)
                )
                await _refresh_images_of_faces(session, owner_id, face_ids)
            return await _view(session, person)

    async def get(self, owner_id: uuid.UUID, person_id: uuid.UUID) -> PersonView:
        async with self.ctx.db.for_user(owner_id) as session:
            return await _view(
                session, await load_owned(session, Person, owner_id, person_id, "person")
            )

    async def page(self, owner_id: uuid.UUID, query: PeopleQuery) -> PeoplePage:
        """People newest first, hidden or not, optionally only named or unnamed ones."""
        check_limit(query.limit)
        stmt = select(Person, _face_count()).where(
            Person.owner_id == owner_id, Person.hidden.is_(query.hidden)
        )
        if query.named is not None:
            stmt = stmt.where(Person.name.is_not(None) if query.named else Person.name.is_(None))
        if query.cursor is not None:
            created_at, last_id = decode_cursor(query.cursor)
            stmt = stmt.where(tuple_(Person.created_at, Person.id) < tuple_(created_at, last_id))
        stmt = stmt.order_by(Person.created_at.desc(), Person.id.desc()).limit(query.limit + 1)
        async with self.ctx.db.for_user(owner_id) as session:
            rows = (await session.execute(stmt)).all()
        views = [PersonView(person=p, face_count=c) for p, c in rows[: query.limit]]
        last = views[-1].person if len(rows) > query.limit else None
        return PeoplePage(
            items=views,
            next_cursor=encode_cursor(last.created_at, last.id) if last is not None else None,
        )

    async def update(
        self, owner_id: uuid.UUID, person_id: uuid.UUID, changes: PersonChanges
    ) -> PersonView:
        """Rename (null or blank removes the name) or hide/show a person."""
        if "hidden" in changes.fields and changes.hidden is None:
            raise InvalidInput("hidden must be true or false")
        async with self.ctx.db.for_user(owner_id) as session:
            person = await load_owned(
                session, Person, owner_id, person_id, "person", for_update=True
            )
            if "name" in changes.fields:
                person.name = clean_person_name(changes.name)
            if "hidden" in changes.fields and changes.hidden is not None:
                person.hidden = changes.hidden
            if changes.fields:
                person.updated_at = self.ctx.clock()
            await session.flush()
            await _refresh_images_of_people(session, owner_id, [person_id])
            return await _view(session, person)

    async def merge(
        self, owner_id: uuid.UUID, person_id: uuid.UUID, others: Sequence[uuid.UUID]
    ) -> PersonView:
        """Move the faces of ``others`` to ``person_id`` and delete ``others``.

        The kept person keeps its own name and hidden state.
        """
        if person_id in others:
            raise InvalidInput("a person cannot be merged into itself")
        async with self.ctx.db.for_user(owner_id) as session:
            person = await load_owned(
                session, Person, owner_id, person_id, "person", for_update=True
            )
            await ensure_owned(session, "person", owner_id, others)
            await session.execute(
                update(Face)
                .where(Face.owner_id == owner_id, Face.person_id.in_(set(others)))
                .values(person_id=person_id)
            )
            await session.execute(
                delete(Person).where(Person.owner_id == owner_id, Person.id.in_(set(others)))
            )
            person.updated_at = self.ctx.clock()
            await session.flush()
            await _refresh_images_of_people(session, owner_id, [person_id])
            return await _view(session, person)

    async def delete(self, owner_id: uuid.UUID, person_id: uuid.UUID) -> None:
        """Delete a person; their faces stay, shown as nobody."""
        async with self.ctx.db.for_user(owner_id) as session:
            person = await load_owned(
                session, Person, owner_id, person_id, "person", for_update=True
            )
            image_ids = list(await session.scalars(_image_ids_of(owner_id, [person_id])))
            await session.delete(person)
            await session.flush()
            await refresh_search_documents(session, owner_id, image_ids)

    async def images(
        self, owner_id: uuid.UUID, person_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page:
        """Images showing the person, timeline order, none from the trash."""
        async with self.ctx.db.for_user(owner_id) as session:
            await load_owned(session, Person, owner_id, person_id, "person")
            return await image_page(
                session, owner_id, _image_ids_of(owner_id, [person_id]), limit, cursor
            )

    async def of_image(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> list[PersonView]:
        """People with a face in the image (hidden ones too), by name then id."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            shown = select(Face.person_id).where(
                Face.owner_id == owner_id, Face.image_id == image_id
            )
            rows = await session.execute(
                select(Person, _face_count())
                .where(Person.owner_id == owner_id, Person.id.in_(shown))
                .order_by(Person.name.nulls_last(), Person.id)
            )
            return [PersonView(person=p, face_count=c) for p, c in rows.all()]


def _face_count() -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(Face.owner_id == Person.owner_id, Face.person_id == Person.id)
        .scalar_subquery()
    )


def _image_ids_of(owner_id: uuid.UUID, person_ids: Sequence[uuid.UUID]) -> Select[uuid.UUID]:
    return (
        select(Face.image_id)
        .where(Face.owner_id == owner_id, Face.person_id.in_(set(person_ids)))
        .distinct()
    )


async def _refresh_images_of_people(
    session: AsyncSession, owner_id: uuid.UUID, person_ids: Sequence[uuid.UUID]
) -> None:
    image_ids = list(await session.scalars(_image_ids_of(owner_id, person_ids)))
    await refresh_search_documents(session, owner_id, image_ids)


async def _refresh_images_of_faces(
    session: AsyncSession, owner_id: uuid.UUID, face_ids: Sequence[uuid.UUID]
) -> None:
    image_ids = list(
        await session.scalars(
            select(Face.image_id)
            .where(Face.owner_id == owner_id, Face.id.in_(set(face_ids)))
            .distinct()
        )
    )
    await refresh_search_documents(session, owner_id, image_ids)


async def _view(session: AsyncSession, person: Person) -> PersonView:
    count = await session.scalar(
        select(func.count()).where(Face.owner_id == person.owner_id, Face.person_id == person.id)
    )
    return PersonView(person=person, face_count=count or 0)
