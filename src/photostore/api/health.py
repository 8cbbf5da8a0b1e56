"""Routes: liveness (``/healthz``), readiness (``/readyz``) and metrics (``/metrics``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from photostore.api.deps import ContextDep
from photostore.api.routing import GuardedRoute
from photostore.errors import ServiceUnavailable

router = APIRouter(tags=["health"], route_class=GuardedRoute)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(ctx: ContextDep) -> dict[str, str]:
    """The database answers: ready for traffic."""
    try:
        await ctx.db.ping()
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable("the database does not answer") from exc
    return {"status": "ready"}


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
