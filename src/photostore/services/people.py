"""People: named (or not yet named) clusters of faces.

A person's name is one of the words their images are found by, unless the person is
hidden; so naming, hiding, merging and deleting a person rebuild the search documents
of every image showing one of their faces, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from photostore.db.repositories.images import ImageRepository
from photostore.db.repositories.ownership import ensure_owned
from photostore.db.repositories.people import PersonRepository
from photostore.db.repositories.search_documents import refresh_search_documents
from photostore.domain.images import ShowingPerson
from photostore.domain.people import Person, PersonChanges
from photostore.errors import InvalidInput
from photostore.services.context import ServiceContext
from photostore.services.image_pages import Page, image_page
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor
from photostore.text_rules import clean_person_name


@dataclass(frozen=True)
class PeopleQuery:
    hidden: bool = False
    named: bool | None = None
    limit: int = 100
    cursor: str | None = None


@dataclass(frozen=True)
class PeoplePage:
    items: list[Person]
    next_cursor: str | None


class PeopleService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(
        self, owner_id: uuid.UUID, name: str | None, face_ids: Sequence[uuid.UUID]
    ) -> Person:
        """A new person, showing ``face_ids`` (taken from whoever showed them before)."""
        name = clean_person_name(name)
        now = self.ctx.clock()
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "face", owner_id, face_ids)
            repository = PersonRepository(session, owner_id)
            person = await repository.add(name, now)
            if not face_ids:
                return person
            image_ids = await repository.show_faces(person.id, face_ids)
            await refresh_search_documents(session, owner_id, image_ids)
            return await repository.get(person.id)

    async def get(self, owner_id: uuid.UUID, person_id: uuid.UUID) -> Person:
        async with self.ctx.db.for_user(owner_id) as session:
            return await PersonRepository(session, owner_id).get(person_id)

    async def page(self, owner_id: uuid.UUID, query: PeopleQuery) -> PeoplePage:
        """People newest first, hidden or not, optionally only named or unnamed ones."""
        check_limit(query.limit)
        after = decode_cursor(query.cursor) if query.cursor is not None else None
        async with self.ctx.db.for_user(owner_id) as session:
            people = await PersonRepository(session, owner_id).page(
                query.hidden, query.named, after, query.limit
            )
        last = people.items[-1] if people.more else None
        return PeoplePage(
            items=people.items,
            next_cursor=encode_cursor(last.created_at, last.id) if last is not None else None,
        )

    async def update(
        self, owner_id: uuid.UUID, person_id: uuid.UUID, changes: PersonChanges
    ) -> Person:
        """Rename (null or blank removes the name) or hide/show a person."""
        if "hidden" in changes.fields and changes.hidden is None:
            raise InvalidInput("hidden must be true or false")
        async with self.ctx.db.for_user(owner_id) as session:
            # Locked first, so a missing person is a 404 before the name is checked.
            await ensure_owned(session, "person", owner_id, [person_id], for_update=True)
            repository = PersonRepository(session, owner_id)
            if changes.fields:
                if "name" in changes.fields:
                    changes = replace(changes, name=clean_person_name(changes.name))
                person = await repository.update(person_id, changes, self.ctx.clock())
            else:
                person = await repository.get(person_id)
            await refresh_search_documents(session, owner_id, await repository.shown_in(person_id))
            return person

    async def merge(
        self, owner_id: uuid.UUID, person_id: uuid.UUID, others: Sequence[uuid.UUID]
    ) -> Person:
        """Move the faces of ``others`` to ``person_id`` and delete ``others``.

        The kept person keeps its own name and hidden state.
        """
        if person_id in others:
            raise InvalidInput("a person cannot be merged into itself")
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "person", owner_id, [person_id], for_update=True)
            await ensure_owned(session, "person", owner_id, others)
            repository = PersonRepository(session, owner_id)
            await repository.absorb(person_id, others)
            person = await repository.touch(person_id, self.ctx.clock())
            await refresh_search_documents(session, owner_id, await repository.shown_in(person_id))
            return person

    async def delete(self, owner_id: uuid.UUID, person_id: uuid.UUID) -> None:
        """Delete a person; their faces stay, shown as nobody."""
        async with self.ctx.db.for_user(owner_id) as session:
            # The lock keeps faces from being shown as the person (their foreign key
            # waits for it) between reading the images and the delete.
            await ensure_owned(session, "person", owner_id, [person_id], for_update=True)
            repository = PersonRepository(session, owner_id)
            image_ids = await repository.shown_in(person_id)
            await repository.delete(person_id)
            await refresh_search_documents(session, owner_id, image_ids)

    async def images(
        self, owner_id: uuid.UUID, person_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page:
        """Images showing the person, timeline order, none from the trash."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "person", owner_id, [person_id])
            images = ImageRepository(session, owner_id)
            return await image_page(images, ShowingPerson(person_id), limit, cursor)

    async def of_image(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> list[Person]:
        """People with a face in the image (hidden ones too), by name then id."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ensure_owned(session, "image", owner_id, [image_id])
            return await PersonRepository(session, owner_id).of_image(image_id)
