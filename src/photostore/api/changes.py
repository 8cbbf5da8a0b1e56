"""Routes: the change feed (``/v1/changes``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from photostore.api.deps import ImagesReader, PageLimit, ServiceOf
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.changes import ChangePage
from photostore.services.changes import ChangeFeedService

router = APIRouter(prefix="/v1/changes", tags=["changes"], route_class=GuardedRoute)

Feed = Annotated[ChangeFeedService, Depends(ServiceOf(ChangeFeedService))]


@router.get("", response_model=ChangePage)
async def list_changes(
    principal: ImagesReader,
    feed: Feed,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: PageLimit = 100,
    latest: bool = False,
) -> ChangePage:
    """What changed in the caller's library after ``cursor``, oldest first.

    Read on with ``next_cursor``, which is given also when nothing is new: poll with it.
    A change shows once every transaction older than its own has ended, so a cursor
    never passes a change still being committed. ``latest=true`` gives no changes and the
    cursor of the feed's end: take it before a full listing, then follow from there.
    """
    return ChangePage.of(await feed.read(principal.user_id, cursor, limit, latest=latest))
