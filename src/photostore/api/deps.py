"""Dependencies of the routes, as ``Annotated`` aliases: the one way in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from photostore.auth.permissions import Permission
from photostore.auth.principal import Principal
from photostore.auth.tokens import TokenCodec
from photostore.errors import Forbidden, Unauthenticated
from photostore.services.context import ServiceContext
from photostore.services.images import ImageService
from photostore.services.users import UserService

_bearer = HTTPBearer(auto_error=False, description="An access token from POST /v1/auth/token")


def get_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def get_tokens(request: Request) -> TokenCodec:
    tokens: TokenCodec = request.app.state.tokens
    return tokens


ContextDep = Annotated[ServiceContext, Depends(get_context)]
TokensDep = Annotated[TokenCodec, Depends(get_tokens)]


def get_user_service(ctx: ContextDep) -> UserService:
    return UserService(ctx)


def get_image_service(ctx: ContextDep) -> ImageService:
    return ImageService(ctx)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
ImageServiceDep = Annotated[ImageService, Depends(get_image_service)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def optional_principal(
    credentials: Credentials, tokens: TokensDep, users: UserServiceDep
) -> Principal | None:
    """The caller if a bearer token was sent (and is valid); None if none was sent."""
    if credentials is None:
        return None
    claims = tokens.verify(credentials.credentials)
    return await users.principal_for_token(claims.user_id, claims.token_version)


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthenticated("send an access token: Authorization: Bearer <token>")
    return principal


def require(permission: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the request through only if the caller holds ``permission``."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(permission):
            raise Forbidden(f"this needs the {permission.value!r} permission")
        return principal

    check.__name__ = f"require_{permission.name.lower()}"
    return check


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
ImagesReader = Annotated[Principal, Depends(require(Permission.IMAGES_READ))]
ImagesWriter = Annotated[Principal, Depends(require(Permission.IMAGES_WRITE))]
AnalysisWriter = Annotated[Principal, Depends(require(Permission.ANALYSIS_WRITE))]
FacesWriter = Annotated[Principal, Depends(require(Permission.FACES_WRITE))]
LibraryWriter = Annotated[Principal, Depends(require(Permission.LIBRARY_WRITE))]
SearchReader = Annotated[Principal, Depends(require(Permission.SEARCH_READ))]
AccountHolder = Annotated[Principal, Depends(require(Permission.ACCOUNT))]
UserAdmin = Annotated[Principal, Depends(require(Permission.ADMIN_USERS))]
StatsReader = Annotated[Principal, Depends(require(Permission.ADMIN_STATS))]
