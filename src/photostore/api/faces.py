"""Routes: faces in images (``/v1/images/{image_id}/faces``, ``/v1/faces/{face_id}``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from photostore.api.deps import FaceServiceDep, FacesWriter, ImagesReader
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.faces import FaceList, FaceOut, FacePatch, FacesIn

router = APIRouter(prefix="/v1", tags=["faces"], route_class=GuardedRoute)


@router.post(
    "/images/{image_id}/faces", status_code=status.HTTP_201_CREATED, response_model=FaceList
)
async def add_faces(
    image_id: uuid.UUID, body: FacesIn, principal: FacesWriter, faces: FaceServiceDep
) -> FaceList:
    """Store faces found in the image, optionally already assigned to people."""
    created = await faces.add(principal.user_id, image_id, [f.new_face() for f in body.faces])
    return FaceList.of(created)


@router.get("/images/{image_id}/faces", response_model=FaceList)
async def list_faces(
    image_id: uuid.UUID, principal: ImagesReader, faces: FaceServiceDep
) -> FaceList:
    """Every face of the image, oldest first (at most 1000)."""
    return FaceList.of(await faces.of_image(principal.user_id, image_id))


@router.patch("/faces/{face_id}", response_model=FaceOut)
async def assign_face(
    face_id: uuid.UUID, body: FacePatch, principal: FacesWriter, faces: FaceServiceDep
) -> FaceOut:
    """Assign the face to a person, move it to another, or unassign it (null)."""
    return FaceOut.of(await faces.assign(principal.user_id, face_id, body.person_id))


@router.delete("/faces/{face_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_face(
    face_id: uuid.UUID, principal: FacesWriter, faces: FaceServiceDep
) -> Response:
    await faces.delete(principal.user_id, face_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
