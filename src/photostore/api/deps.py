"""Dependencies of the routes, as ``Annotated`` aliases: the one way in."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from photostore.auth.apikeys import ACTING_FOR_HEADER, looks_like_key
from photostore.auth.permissions import Permission
from photostore.auth.principal import Principal
from photostore.auth.tokens import TokenCodec
from photostore.errors import BadRequest, Forbidden, Unauthenticated
from photostore.observability.audit import set_audit_subject
from photostore.services.admin import AdminService
from photostore.services.albums import AlbumService
from photostore.services.analysis import AnalysisService
from photostore.services.api_keys import ApiKeyService
from photostore.services.audit import AuditService, AuditSubject
from photostore.services.context import ServiceContext
from photostore.services.embeddings import EmbeddingService
from photostore.services.faces import FaceService
from photostore.services.images import ImageService
from photostore.services.ingest import IngestService
from photostore.services.logins import LoginService
from photostore.services.pagination import MAX_PAGE_SIZE
from photostore.services.people import PeopleService
from photostore.services.refresh import RefreshFamilies
from photostore.services.service_keys import ServiceKeyService
from photostore.services.tag_library import TagService
from photostore.services.users import UserService
from photostore.transfer.archive import LibraryArchive

S = TypeVar("S")

_bearer = HTTPBearer(
    auto_error=False,
    description="An access token from POST /v1/auth/token, or an API key (psk_...)",
)


def _context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def _tokens(request: Request) -> TokenCodec:
    tokens: TokenCodec = request.app.state.tokens
    return tokens


# The dependencies below read the application's state from the request rather than
# depending on each other: FastAPI solves every node of a route's dependency tree on every
# request (a cached one too), about a tenth of a GET /v1/images/{id}'s time in the
# process for a tree of eight nodes (py-spy, bench/requests.py).


async def get_context(request: Request) -> ServiceContext:
    return _context(request)


async def get_tokens(request: Request) -> TokenCodec:
    return _tokens(request)


ContextDep = Annotated[ServiceContext, Depends(get_context)]
TokensDep = Annotated[TokenCodec, Depends(get_tokens)]


class ServiceOf(Generic[S]):
    """A dependency that makes a service of the application's context for the request."""

    def __init__(self, make: Callable[[ServiceContext], S]) -> None:
        self.make = make

    async def __call__(self, request: Request) -> S:
        return self.make(_context(request))


UserServiceDep = Annotated[UserService, Depends(ServiceOf(UserService))]
LoginServiceDep = Annotated[LoginService, Depends(ServiceOf(LoginService))]
ImageServiceDep = Annotated[ImageService, Depends(ServiceOf(ImageService))]
IngestServiceDep = Annotated[IngestService, Depends(ServiceOf(IngestService))]
EmbeddingServiceDep = Annotated[EmbeddingService, Depends(ServiceOf(EmbeddingService))]
AnalysisServiceDep = Annotated[AnalysisService, Depends(ServiceOf(AnalysisService))]
FaceServiceDep = Annotated[FaceService, Depends(ServiceOf(FaceService))]
PeopleServiceDep = Annotated[PeopleService, Depends(ServiceOf(PeopleService))]
TagServiceDep = Annotated[TagService, Depends(ServiceOf(TagService))]
AlbumServiceDep = Annotated[AlbumService, Depends(ServiceOf(AlbumService))]
ApiKeyServiceDep = Annotated[ApiKeyService, Depends(ServiceOf(ApiKeyService))]
AuditServiceDep = Annotated[AuditService, Depends(ServiceOf(AuditService))]
AdminServiceDep = Annotated[AdminService, Depends(ServiceOf(AdminService))]
LibraryArchiveDep = Annotated[LibraryArchive, Depends(ServiceOf(LibraryArchive))]
ServiceKeyServiceDep = Annotated[ServiceKeyService, Depends(ServiceOf(ServiceKeyService))]
RefreshFamiliesDep = Annotated[RefreshFamilies, Depends(ServiceOf(RefreshFamilies))]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


# Where a request's authenticated caller is kept once known (``request.state``): the
# route guard (``api.routing``) authenticates before the body is read, the dependency
# below then answers from it.
_CALLER = "caller"


async def optional_principal(request: Request, credentials: Credentials) -> Principal | None:
    """The caller if a bearer token or API key was sent (and is valid); None if none was.

    Every authenticated request is then audited against this principal (see
    ``observability.audit``): authentication is the one place that names the subject.
    """
    if hasattr(request.state, _CALLER):
        known: Principal | None = getattr(request.state, _CALLER)
        return known
    principal = await _authenticate(request, credentials, _tokens(request), _context(request))
    setattr(request.state, _CALLER, principal)
    return principal


async def authenticate(request: Request) -> Principal | None:
    """:func:`optional_principal` outside of FastAPI's dependencies: for the route guard,
    which runs before FastAPI reads a body."""
    return await optional_principal(request, await _bearer(request))


async def _authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None,
    tokens: TokenCodec,
    ctx: ServiceContext,
) -> Principal | None:
    if credentials is None:
        return None
    presented = credentials.credentials
    if looks_like_key(presented):
        principal = await ApiKeyService(ctx).principal_for_key(
            presented, _acting_for(request.headers.get(ACTING_FOR_HEADER))
        )
    else:
        principal = await UserService(ctx).principal_for_access_token(tokens.verify(presented))
    set_audit_subject(
        request.state,
        AuditSubject(
            owner_id=principal.user_id,
            principal_id=principal.acting_id,
            principal_kind=principal.kind.value,
            key_id=principal.key_id,
        ),
    )
    return principal


def _acting_for(header: str | None) -> uuid.UUID | None:
    """The user id an ``ACTING_FOR_HEADER`` value names; None when the header is absent or
    blank, a 400 when it is not a user id."""
    if header is None or not header.strip():
        return None
    try:
        return uuid.UUID(header.strip())
    except ValueError as exc:
        raise BadRequest(f"{ACTING_FOR_HEADER} must be a user id (a UUID)") from exc


async def current_principal(request: Request, credentials: Credentials) -> Principal:
    """The caller; 401 if none is authenticated."""
    principal = await optional_principal(request, credentials)
    if principal is None:
        raise Unauthenticated("send an access token: Authorization: Bearer <token>")
    return principal


class Requires:
    """A dependency that lets the request through only if the caller holds ``permission``
    (and answers 401 without a caller)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, request: Request, credentials: Credentials) -> Principal:
        principal = await current_principal(request, credentials)
        if not principal.can(self.permission):
            raise Forbidden(f"this needs the {self.permission.value!r} permission")
        return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
ImagesReader = Annotated[Principal, Depends(Requires(Permission.IMAGES_READ))]
ImagesWriter = Annotated[Principal, Depends(Requires(Permission.IMAGES_WRITE))]
AnalysisWriter = Annotated[Principal, Depends(Requires(Permission.ANALYSIS_WRITE))]
FacesWriter = Annotated[Principal, Depends(Requires(Permission.FACES_WRITE))]
LibraryWriter = Annotated[Principal, Depends(Requires(Permission.LIBRARY_WRITE))]
SearchReader = Annotated[Principal, Depends(Requires(Permission.SEARCH_READ))]
AccountHolder = Annotated[Principal, Depends(Requires(Permission.ACCOUNT))]
UserAdmin = Annotated[Principal, Depends(Requires(Permission.ADMIN_USERS))]
StatsReader = Annotated[Principal, Depends(Requires(Permission.ADMIN_STATS))]
ServiceKeyAdmin = Annotated[Principal, Depends(Requires(Permission.ADMIN_SERVICE_KEYS))]


PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
"""The ``limit`` of a list route: how many rows one page holds."""
