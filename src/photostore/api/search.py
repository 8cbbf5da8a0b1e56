"""Route: ``POST /v1/search``: filters, full text and vector similarity in one request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from photostore.api.deps import SearchReader, ServiceOf
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.search import SearchIn, SearchOut
from photostore.services.search import SearchService

router = APIRouter(prefix="/v1", tags=["search"], route_class=GuardedRoute)


@router.post("/search", response_model=SearchOut)
async def search(
    body: SearchIn,
    principal: SearchReader,
    service: Annotated[SearchService, Depends(ServiceOf(SearchService))],
) -> SearchOut:
    """Search the caller's photos; with a vector, nearest first; never trashed images."""
    return SearchOut.of(await service.search(principal.user_id, body.to_domain()))
