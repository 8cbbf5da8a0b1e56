"""Routes: administration (``/v1/admin``): accounts and service-wide figures, no photos."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from photostore.api.deps import AdminServiceDep, StatsReader, UserAdmin
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.security import AccountPage, StatsOut

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=GuardedRoute)


@router.get("/users", response_model=AccountPage)
async def list_accounts(
    principal: UserAdmin,
    admin: AdminServiceDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AccountPage:
    """Every account (id, email, role, created_at), oldest first."""
    return AccountPage.of(await admin.users(limit, cursor))


@router.get("/stats", response_model=StatsOut)
async def service_stats(principal: StatsReader, admin: AdminServiceDep) -> StatsOut:
    """How many users, admins and images the service holds, and the bytes of originals."""
    return StatsOut.of(await admin.stats())
