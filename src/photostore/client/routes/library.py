"""What the analysis and recognition services write: analysis results, faces, people."""

from __future__ import annotations

from typing import Unpack

from photostore.client._call import Call, Id, ids, query, segment
from photostore.client._route import route
from photostore.client.schemas import (
    AnalysisItemIn,
    AnalysisList,
    AnalysisOut,
    AnalysisPage,
    AnalysisPayload,
    FaceBatchOut,
    FaceIn,
    FaceList,
    FaceOut,
    FacesOfImageIn,
    ImagePage,
    PersonList,
    PersonOut,
    PersonPage,
    PersonPatch,
)


class LibraryRoutes:
    @route
    def write_analysis(
        image_id: Id, analyzer: str, model_version: str, payload: AnalysisPayload
    ) -> Call[AnalysisOut]:
        """Record one analyzer's result for an image; older results are kept."""
        path = f"/v1/images/{segment(image_id)}/analysis/{segment(analyzer)}"
        return Call("PUT", path, json={"model_version": model_version, "payload": payload})

    @route
    def get_analysis(
        image_id: Id, analyzer: str, *, model_version: str | None = None
    ) -> Call[AnalysisOut]:
        """The newest result of ``analyzer`` (of ``model_version``, when given)."""
        path = f"/v1/images/{segment(image_id)}/analysis/{segment(analyzer)}"
        return Call("GET", path, params=query(model_version=model_version))

    @route
    def list_current_analysis(image_id: Id) -> Call[AnalysisList]:
        return Call("GET", f"/v1/images/{segment(image_id)}/analysis")

    @route
    def analysis_history(
        image_id: Id, analyzer: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[AnalysisPage]:
        path = f"/v1/images/{segment(image_id)}/analysis/{segment(analyzer)}/history"
        return Call("GET", path, params=query(limit=limit, cursor=cursor))

    @route
    def write_analysis_batch(items: list[AnalysisItemIn]) -> Call[AnalysisList]:
        """Up to 1000 results in one transaction: all or none."""
        return Call("POST", "/v1/analysis/batch", json={"items": items})

    @route
    def add_faces(image_id: Id, faces: list[FaceIn]) -> Call[FaceList]:
        return Call("POST", f"/v1/images/{segment(image_id)}/faces", json={"faces": faces})

    @route
    def add_faces_batch(items: list[FacesOfImageIn]) -> Call[FaceBatchOut]:
        """The faces of many images in one transaction: all or none."""
        return Call("POST", "/v1/faces/batch", json={"items": items})

    @route
    def list_faces(image_id: Id) -> Call[FaceList]:
        return Call("GET", f"/v1/images/{segment(image_id)}/faces")

    @route
    def assign_face(face_id: Id, person_id: Id | None) -> Call[FaceOut]:
        """Give the face to a person, or take it from its person (None)."""
        body = {"person_id": None if person_id is None else str(person_id)}
        return Call("PATCH", f"/v1/faces/{segment(face_id)}", json=body)

    @route
    def delete_face(face_id: Id) -> Call[None]:
        return Call("DELETE", f"/v1/faces/{segment(face_id)}")

    @route
    def create_person(
        *, name: str | None = None, face_ids: list[Id] | None = None
    ) -> Call[PersonOut]:
        body = {"name": name, "face_ids": ids(face_ids or [])}
        return Call("POST", "/v1/people", json=body)

    @route
    def list_people(
        *,
        hidden: bool | None = None,
        named: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Call[PersonPage]:
        params = query(hidden=hidden, named=named, limit=limit, cursor=cursor)
        return Call("GET", "/v1/people", params=params)

    @route
    def get_person(person_id: Id) -> Call[PersonOut]:
        return Call("GET", f"/v1/people/{segment(person_id)}")

    @route
    def update_person(person_id: Id, **changes: Unpack[PersonPatch]) -> Call[PersonOut]:
        return Call("PATCH", f"/v1/people/{segment(person_id)}", json=changes)

    @route
    def delete_person(person_id: Id) -> Call[None]:
        return Call("DELETE", f"/v1/people/{segment(person_id)}")

    @route
    def merge_people(person_id: Id, person_ids: list[Id]) -> Call[PersonOut]:
        """Move the faces of ``person_ids`` to ``person_id`` and delete those people."""
        path = f"/v1/people/{segment(person_id)}/merge"
        return Call("POST", path, json={"person_ids": ids(person_ids)})

    @route
    def person_images(
        person_id: Id, *, limit: int | None = None, cursor: str | None = None
    ) -> Call[ImagePage]:
        path = f"/v1/people/{segment(person_id)}/images"
        return Call("GET", path, params=query(limit=limit, cursor=cursor))

    @route
    def image_people(image_id: Id) -> Call[PersonList]:
        return Call("GET", f"/v1/images/{segment(image_id)}/people")
