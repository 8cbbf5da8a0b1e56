"""Routes: embedding spaces (``/v1/embedding-spaces``), the vectors of images in them
(``/v1/images/{image_id}/embeddings/{space}``, in bulk
``/v1/embedding-spaces/{space}/vectors``) and near-duplicates of an image."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from photostore.api.bodies import json_body, read_json
from photostore.api.deps import (
    AnalysisWriter,
    ContextDep,
    EmbeddingServiceDep,
    ImagesReader,
    SearchReader,
)
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.embeddings import (
    DuplicatesOut,
    NeighborOut,
    SpaceIn,
    SpaceList,
    SpaceOut,
    VectorBatchIn,
    VectorBatchOut,
    VectorIn,
    VectorOut,
)
from photostore.services.embeddings import MAX_DUPLICATES, MAX_VECTOR_BATCH

router = APIRouter(tags=["embeddings"], route_class=GuardedRoute)

SpaceName = Annotated[str, "the space's name"]


def batch_values_at_most(dimension: int) -> int:
    """The JSON values of the largest bulk body of ``dimension``-d vectors: per item its
    object, two members, the list and its numbers; the body's object and list."""
    return MAX_VECTOR_BATCH * (dimension + 4) + 2


@router.post(
    "/v1/embedding-spaces",
    status_code=status.HTTP_201_CREATED,
    response_model=SpaceOut,
    responses={200: {"model": SpaceOut, "description": "The same definition exists already"}},
)
async def declare_space(
    body: SpaceIn, response: Response, principal: AnalysisWriter, embeddings: EmbeddingServiceDep
) -> SpaceOut:
    """Declare a space: 201; the same definition again 200; another one under the name 409."""
    result = await embeddings.declare_space(principal.user_id, body.definition())
    if not result.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/embedding-spaces/{body.name}"
    return SpaceOut.of(result.view)


@router.get("/v1/embedding-spaces", response_model=SpaceList)
async def list_spaces(principal: ImagesReader, embeddings: EmbeddingServiceDep) -> SpaceList:
    return SpaceList(
        items=[SpaceOut.of(v) for v in await embeddings.list_spaces(principal.user_id)]
    )


@router.get("/v1/embedding-spaces/{name}", response_model=SpaceOut)
async def get_space(
    name: SpaceName, principal: ImagesReader, embeddings: EmbeddingServiceDep
) -> SpaceOut:
    return SpaceOut.of(await embeddings.get_space(principal.user_id, name))


@router.delete("/v1/embedding-spaces/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def drop_space(
    name: SpaceName, principal: AnalysisWriter, embeddings: EmbeddingServiceDep
) -> Response:
    """Drop the space and every vector in it."""
    await embeddings.drop_space(principal.user_id, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/v1/embedding-spaces/{space}/vectors",
    response_model=VectorBatchOut,
    openapi_extra=json_body(VectorBatchIn),
)
async def put_vectors(
    space: SpaceName,
    request: Request,
    principal: AnalysisWriter,
    embeddings: EmbeddingServiceDep,
    ctx: ContextDep,
) -> VectorBatchOut:
    """Store the vectors of many images in the space at once, replacing earlier ones: all
    of the batch, or (a bad item, an image not the caller's) none of it."""
    # The space first: its dimension bounds the numbers the body may hold (and the look-up
    # confirms the caller's token before a byte of the body is read).
    dimension = (await embeddings.get_space(principal.user_id, space)).space.dimension
    # Read here, not declared as a parameter: bounded while it streams, parsed in one pass.
    body = await read_json(
        request,
        VectorBatchIn,
        ctx.settings.max_vector_batch_bytes,
        max_values=batch_values_at_most(dimension),
    )
    result = await embeddings.put_vectors(
        principal.user_id, space, [item.item() for item in body.items]
    )
    return VectorBatchOut.of(result)


@router.put(
    "/v1/images/{image_id}/embeddings/{space}",
    status_code=status.HTTP_201_CREATED,
    response_model=VectorOut,
    responses={200: {"model": VectorOut, "description": "An earlier vector was replaced"}},
)
async def put_vector(
    image_id: uuid.UUID,
    space: SpaceName,
    body: VectorIn,
    response: Response,
    principal: AnalysisWriter,
    embeddings: EmbeddingServiceDep,
) -> VectorOut:
    """Store the image's vector in the space: 201 the first time, 200 when replaced."""
    result = await embeddings.put_vector(principal.user_id, image_id, space, body.values)
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return VectorOut.of(result.vector)


@router.get("/v1/images/{image_id}/embeddings/{space}", response_model=VectorOut)
async def get_vector(
    image_id: uuid.UUID, space: SpaceName, principal: ImagesReader, embeddings: EmbeddingServiceDep
) -> VectorOut:
    return VectorOut.of(await embeddings.get_vector(principal.user_id, image_id, space))


@router.delete("/v1/images/{image_id}/embeddings/{space}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_vector(
    image_id: uuid.UUID,
    space: SpaceName,
    principal: AnalysisWriter,
    embeddings: EmbeddingServiceDep,
) -> Response:
    await embeddings.delete_vector(principal.user_id, image_id, space)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/v1/images/{image_id}/duplicates", response_model=DuplicatesOut)
async def duplicates(
    image_id: uuid.UUID,
    principal: SearchReader,
    embeddings: EmbeddingServiceDep,
    space: Annotated[str, Query(max_length=100)],
    max_distance: Annotated[float, Query(allow_inf_nan=False)] = 0.05,
    limit: Annotated[int, Query(ge=1, le=MAX_DUPLICATES)] = 50,
) -> DuplicatesOut:
    """Images within ``max_distance`` of this one in ``space``, nearest first, itself left
    out; trashed images never appear."""
    found = await embeddings.duplicates(principal.user_id, image_id, space, max_distance, limit)
    return DuplicatesOut(items=[NeighborOut.of(n) for n in found])
