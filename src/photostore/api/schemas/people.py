"""Bodies of the people routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from photostore.api.schemas.common import MAX_BULK_IDS
from photostore.domain.people import Person, PersonChanges
from photostore.services.people import PeoplePage
from photostore.text_rules import MAX_PERSON_NAME_LENGTH


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=MAX_PERSON_NAME_LENGTH)
    face_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_BULK_IDS)


class PersonPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=MAX_PERSON_NAME_LENGTH)
    hidden: bool | None = None

    def changes(self) -> PersonChanges:
        return PersonChanges(
            fields=frozenset(self.model_fields_set), name=self.name, hidden=self.hidden
        )


class PersonMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)


class PersonOut(BaseModel):
    id: uuid.UUID
    name: str | None
    hidden: bool
    face_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, person: Person) -> PersonOut:
        return cls(
            id=person.id,
            name=person.name,
            hidden=person.hidden,
            face_count=person.face_count,
            created_at=person.created_at,
            updated_at=person.updated_at,
        )


class PersonList(BaseModel):
    items: list[PersonOut]

    @classmethod
    def of(cls, people: list[Person]) -> PersonList:
        return cls(items=[PersonOut.of(p) for p in people])


class PersonPage(BaseModel):
    items: list[PersonOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: PeoplePage) -> PersonPage:
        return cls(items=[PersonOut.of(p) for p in page.items], next_cursor=page.next_cursor)
