"""Route: a user's whole library as one download (``/v1/export``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from photostore.api.deps import ImagesReader, LibraryArchiveDep
from photostore.api.routing import GuardedRoute
from photostore.observability.audit import audit_at_end

router = APIRouter(prefix="/v1/export", tags=["export"], route_class=GuardedRoute)

_TAR = "application/x-tar"


@router.get(
    "",
    response_class=StreamingResponse,
    responses={200: {"content": {_TAR: {}}, "description": "The export as a tar archive"}},
)
async def export_library(
    request: Request, principal: ImagesReader, archive: LibraryArchiveDep
) -> StreamingResponse:
    """Every original byte-exact and ``library.json``, as a tar archive
    (docs/export-format.md) that ``photostore import`` reads once unpacked."""
    audit_at_end(request.state)
    return StreamingResponse(
        archive.stream(principal.user_id),
        media_type=_TAR,
        headers={
            "Content-Disposition": 'attachment; filename="photostore-export.tar"',
            "Cache-Control": "private, no-store",
        },
    )
