"""Embedding spaces, vectors, near duplicates and search."""

from __future__ import annotations

from typing import Literal, Unpack

from photostore.client._call import Call, Id, query, segment
from photostore.client._route import route
from photostore.client.schemas import (
    DuplicatesOut,
    SearchIn,
    SearchOut,
    SpaceList,
    SpaceOut,
    VectorBatchOut,
    VectorItemIn,
    VectorOut,
)


class VectorRoutes:
    @route
    def list_spaces() -> Call[SpaceList]:
        return Call("GET", "/v1/embedding-spaces")

    @route
    def declare_space(
        name: str, model: str, dimension: int, metric: Literal["cosine", "l2", "ip"]
    ) -> Call[SpaceOut]:
        """Declare a space (201), or get the same declaration made before (200)."""
        body = {"name": name, "model": model, "dimension": dimension, "metric": metric}
        return Call("POST", "/v1/embedding-spaces", json=body)

    @route
    def get_space(name: str) -> Call[SpaceOut]:
        return Call("GET", f"/v1/embedding-spaces/{segment(name)}")

    @route
    def drop_space(name: str) -> Call[None]:
        """Drop a space and every vector in it."""
        return Call("DELETE", f"/v1/embedding-spaces/{segment(name)}")

    @route
    def put_vectors(space: str, items: list[VectorItemIn]) -> Call[VectorBatchOut]:
        """Store up to 1000 vectors of the space in one transaction."""
        path = f"/v1/embedding-spaces/{segment(space)}/vectors"
        return Call("POST", path, json={"items": items})

    @route
    def put_vector(image_id: Id, space: str, values: list[float]) -> Call[VectorOut]:
        path = f"/v1/images/{segment(image_id)}/embeddings/{segment(space)}"
        return Call("PUT", path, json={"values": values})

    @route
    def get_vector(image_id: Id, space: str) -> Call[VectorOut]:
        return Call("GET", f"/v1/images/{segment(image_id)}/embeddings/{segment(space)}")

    @route
    def delete_vector(image_id: Id, space: str) -> Call[None]:
        return Call("DELETE", f"/v1/images/{segment(image_id)}/embeddings/{segment(space)}")

    @route
    def duplicates(
        image_id: Id, space: str, *, max_distance: float | None = None, limit: int | None = None
    ) -> Call[DuplicatesOut]:
        """The images nearest to this one in ``space``, within ``max_distance``."""
        params = query(space=space, max_distance=max_distance, limit=limit)
        return Call("GET", f"/v1/images/{segment(image_id)}/duplicates", params=params)

    @route
    def search(**request: Unpack[SearchIn]) -> Call[SearchOut]:
        """One page of hits for filters, text and a vector (``iter_search``: every page)."""
        return Call("POST", "/v1/search", json=request)
