"""Routes: administration (``/v1/admin``): accounts, service keys (list, revoke) and
service-wide figures; no photos."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from photostore.api.deps import (
    AdminServiceDep,
    PageLimit,
    ServiceKeyAdmin,
    ServiceKeyServiceDep,
    StatsReader,
    UserAdmin,
)
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.security import (
    AccountPage,
    ServiceKeyList,
    ServiceKeyOut,
    StatsOut,
)

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=GuardedRoute)


@router.get("/users", response_model=AccountPage)
async def list_accounts(
    principal: UserAdmin,
    admin: AdminServiceDep,
    limit: PageLimit = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AccountPage:
    """Every account (id, email, role, created_at), oldest first."""
    return AccountPage.of(await admin.users(limit, cursor))


@router.get("/stats", response_model=StatsOut)
async def service_stats(principal: StatsReader, admin: AdminServiceDep) -> StatsOut:
    """How many users, admins and images the service holds, and the bytes of originals."""
    return StatsOut.of(await admin.stats())


@router.get("/service-keys", response_model=ServiceKeyList)
async def list_service_keys(
    principal: ServiceKeyAdmin, keys: ServiceKeyServiceDep
) -> ServiceKeyList:
    """Every service key, revoked ones included, newest first; never a secret."""
    return ServiceKeyList(items=[ServiceKeyOut.of(k) for k in await keys.list()])


@router.delete(
    "/service-keys/{service_key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def revoke_service_key(
    service_key_id: uuid.UUID, principal: ServiceKeyAdmin, keys: ServiceKeyServiceDep
) -> Response:
    """Revoke a service key (again: still 204); recorded in the admin's audit trail."""
    await keys.revoke(service_key_id, by_admin=principal.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
