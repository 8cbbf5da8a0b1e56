"""Routes: liveness (``/healthz``), readiness (``/readyz``) and metrics (``/metrics``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from photostore.api.deps import ContextDep
from photostore.api.routing import GuardedRoute

router = APIRouter(tags=["health"], route_class=GuardedRoute)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(ctx: ContextDep, request: Request) -> dict[str, object]:
    """The database answers: ready for traffic (503 when it does not). With scheduled
    backups, ``backup`` tells the age of the newest point and the failures since the
    start; an old backup does not make the process unready (it can serve traffic)."""
    await ctx.db.ping()
    schedule = request.app.state.backups
    if schedule is None:
        return {"status": "ready"}
    return {"status": "ready", "backup": schedule.status()}


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
