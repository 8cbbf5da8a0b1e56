"""Routes: people (``/v1/people``) and the people in an image."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from photostore.api.deps import FacesWriter, ImagesReader, PageLimit, PeopleServiceDep
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.images import ImagePage
from photostore.api.schemas.people import (
    PersonCreate,
    PersonList,
    PersonMerge,
    PersonOut,
    PersonPage,
    PersonPatch,
)
from photostore.services.people import PeopleQuery

router = APIRouter(prefix="/v1", tags=["people"], route_class=GuardedRoute)

Cursor = Annotated[str | None, Query(max_length=512)]


@router.post("/people", status_code=status.HTTP_201_CREATED, response_model=PersonOut)
async def create_person(
    body: PersonCreate, principal: FacesWriter, people: PeopleServiceDep
) -> PersonOut:
    """A new person, optionally named, showing the given faces."""
    return PersonOut.of(await people.create(principal.user_id, body.name, body.face_ids))


@router.get("/people", response_model=PersonPage)
async def list_people(
    principal: ImagesReader,
    people: PeopleServiceDep,
    hidden: bool = False,
    named: bool | None = None,
    limit: PageLimit = 100,
    cursor: Cursor = None,
) -> PersonPage:
    """People newest first: not hidden (or only hidden ones), optionally named or not."""
    query = PeopleQuery(hidden=hidden, named=named, limit=limit, cursor=cursor)
    return PersonPage.of(await people.page(principal.user_id, query))


@router.get("/people/{person_id}", response_model=PersonOut)
async def get_person(
    person_id: uuid.UUID, principal: ImagesReader, people: PeopleServiceDep
) -> PersonOut:
    return PersonOut.of(await people.get(principal.user_id, person_id))


@router.patch("/people/{person_id}", response_model=PersonOut)
async def update_person(
    person_id: uuid.UUID, body: PersonPatch, principal: FacesWriter, people: PeopleServiceDep
) -> PersonOut:
    """Rename (null or blank removes the name), hide or show a person."""
    return PersonOut.of(await people.update(principal.user_id, person_id, body.changes()))


@router.post("/people/{person_id}/merge", response_model=PersonOut)
async def merge_people(
    person_id: uuid.UUID, body: PersonMerge, principal: FacesWriter, people: PeopleServiceDep
) -> PersonOut:
    """Move the faces of ``person_ids`` to this person and delete those people."""
    return PersonOut.of(await people.merge(principal.user_id, person_id, body.person_ids))


@router.delete(
    "/people/{person_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_person(
    person_id: uuid.UUID, principal: FacesWriter, people: PeopleServiceDep
) -> Response:
    """Delete a person; their faces stay, unassigned."""
    await people.delete(principal.user_id, person_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/people/{person_id}/images", response_model=ImagePage)
async def person_images(
    person_id: uuid.UUID,
    principal: ImagesReader,
    people: PeopleServiceDep,
    limit: PageLimit = 100,
    cursor: Cursor = None,
) -> ImagePage:
    """Images showing the person, newest ``taken_at`` first, none from the trash."""
    return ImagePage.of(await people.images(principal.user_id, person_id, limit, cursor))


@router.get("/images/{image_id}/people", response_model=PersonList)
async def image_people(
    image_id: uuid.UUID, principal: ImagesReader, people: PeopleServiceDep
) -> PersonList:
    """People with a face in the image, hidden ones included, by name."""
    return PersonList.of(await people.of_image(principal.user_id, image_id))
