"""Routes: API keys (``/v1/api-keys``): make (shown once), list, revoke."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from photostore.api.deps import AccountHolder, ApiKeyServiceDep
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.security import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
)

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"], route_class=GuardedRoute)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(
    body: ApiKeyCreate, principal: AccountHolder, keys: ApiKeyServiceDep, response: Response
) -> ApiKeyCreated:
    """A key for your own data (``kind: user``); service keys come from the operator."""
    response.headers["Cache-Control"] = "no-store"  # the answer holds the key's secret
    created = await keys.create(
        principal, body.name, body.kind, frozenset(body.scopes), body.expires_at
    )
    out = ApiKeyOut.of(created.key)
    return ApiKeyCreated(**out.model_dump(), key=created.token)


@router.get("", response_model=ApiKeyList)
async def list_api_keys(principal: AccountHolder, keys: ApiKeyServiceDep) -> ApiKeyList:
    return ApiKeyList(items=[ApiKeyOut.of(k) for k in await keys.list(principal.user_id)])


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def revoke_api_key(
    key_id: uuid.UUID, principal: AccountHolder, keys: ApiKeyServiceDep
) -> Response:
    await keys.revoke(principal.user_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
