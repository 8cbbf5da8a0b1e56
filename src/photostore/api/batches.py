"""Routes: analysis results and faces of many images at once (``/v1/analysis/batch``,
``/v1/faces/batch``), for the image analysis and facial recognition services.

Each batch is one transaction of up to 1,000 items, all or nothing: a wrong item is a 422
naming its position, an image or person not the caller's a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from photostore.api.deps import AnalysisServiceDep, AnalysisWriter, FaceServiceDep, FacesWriter
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.analysis import AnalysisBatchIn, AnalysisList, AnalysisOut
from photostore.api.schemas.faces import FaceBatchIn, FaceBatchOut, FaceOut, FacesOfImageOut

router = APIRouter(prefix="/v1", route_class=GuardedRoute)


@router.post(
    "/analysis/batch",
    status_code=status.HTTP_201_CREATED,
    response_model=AnalysisList,
    tags=["analysis"],
)
async def write_analysis_batch(
    body: AnalysisBatchIn, principal: AnalysisWriter, analysis: AnalysisServiceDep
) -> AnalysisList:
    """Store results of many (image, analyzer) pairs, as a PUT of each would.

    A pair may appear once per batch. The results come back in the items' order.
    """
    writes = [(item.image_id, item.analyzer, item.write()) for item in body.items]
    results = await analysis.write_many(principal.user_id, writes)
    return AnalysisList(items=[AnalysisOut.of(result) for result in results])


@router.post(
    "/faces/batch", status_code=status.HTTP_201_CREATED, response_model=FaceBatchOut, tags=["faces"]
)
async def add_faces_batch(
    body: FaceBatchIn, principal: FacesWriter, faces: FaceServiceDep
) -> FaceBatchOut:
    """Store the faces found in many images, as a POST to each image's faces would.

    An image may appear once per batch. The stored faces come back per item, in order.
    """
    found = [(item.image_id, [face.new_face() for face in item.faces]) for item in body.items]
    stored = await faces.add_many(principal.user_id, found)
    return FaceBatchOut(
        items=[
            FacesOfImageOut(image_id=image_id, faces=[FaceOut.of(face) for face in made])
            for (image_id, _), made in zip(found, stored, strict=True)
        ]
    )
