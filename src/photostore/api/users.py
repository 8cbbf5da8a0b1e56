"""Routes: accounts (``/v1/users``), login, refresh and logout (``/v1/auth``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response, status
from fastapi.responses import JSONResponse

from photostore.api.deps import (
    AccountHolder,
    AuditServiceDep,
    LoginServiceDep,
    OptionalPrincipal,
    PageLimit,
    RefreshFamiliesDep,
    TokensDep,
    UserServiceDep,
)
from photostore.api.routing import GuardedRoute
from photostore.api.schemas.security import AuditPageOut, PasswordChange
from photostore.api.schemas.users import SignupAccepted, TokenOut, UserCreate, UserOut
from photostore.auth.principal import Role, kind_of_role
from photostore.auth.tokens import REFRESH, RefreshPlace, TokenCodec
from photostore.domain.users import User
from photostore.observability.audit import request_decoy_audit, set_audit_subject
from photostore.services.audit import AuditSubject

router = APIRouter(prefix="/v1", tags=["users"], route_class=GuardedRoute)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={
        status.HTTP_202_ACCEPTED: {
            "model": SignupAccepted,
            "description": "Open sign-up: the same answer whether or not the email was free",
        }
    },
)
async def create_user(
    body: UserCreate, caller: OptionalPrincipal, users: UserServiceDep
) -> UserOut | JSONResponse:
    """Create an account: admins always (201 with the account, 409 for an email in use);
    anyone when sign-up is open (role user only; 202, the same for an email in use)."""
    registered = await users.register(caller, body.email, body.password, Role(body.role))
    if registered.user is None:
        accepted = SignupAccepted(email=registered.email)
        return JSONResponse(accepted.model_dump(), status_code=status.HTTP_202_ACCEPTED)
    return UserOut.of(registered.user)


@router.post("/auth/token", response_model=TokenOut)
async def issue_token(
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    logins: LoginServiceDep,
    tokens: TokensDep,
    request: Request,
    response: Response,
) -> TokenOut:
    """OAuth2 password grant: exchange email and password for access and refresh tokens.

    Failed attempts are limited per email and per client address (429 + Retry-After).
    A failure is audited against the account when the email names one; the answer is
    the same, and takes as long, either way.
    """
    checked = await logins.check(username, password, _address(request))
    if checked.user is not None:
        set_audit_subject(request.state, _self_subject(checked.user))
    else:
        request_decoy_audit(request.state)
    login = await logins.accept(checked)
    return _tokens_for(login.user, login.place, tokens, request, response)


@router.post("/auth/refresh", response_model=TokenOut)
async def refresh_token(
    refresh_token: Annotated[str, Form(max_length=4096)],
    users: UserServiceDep,
    tokens: TokensDep,
    families: RefreshFamiliesDep,
    request: Request,
    response: Response,
) -> TokenOut:
    """Exchange a refresh token for a new access token and a new refresh token.

    A refresh token works once: the answer's refresh token replaces it. Presenting one
    already used revokes every refresh token of its login (401).
    """
    claims = tokens.verify(refresh_token, kind=REFRESH)
    principal = await users.principal_for_token(claims.user_id, claims.token_version)
    user = await users.get(principal.user_id)
    set_audit_subject(request.state, _self_subject(user))
    place = await families.rotate(claims)
    return _tokens_for(user, place, tokens, request, response)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(principal: AccountHolder, users: UserServiceDep) -> Response:
    """Revoke every access and refresh token of the account (API keys stay valid)."""
    await users.revoke_tokens(principal.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/me", response_model=UserOut)
async def read_me(principal: AccountHolder, users: UserServiceDep) -> UserOut:
    return UserOut.of(await users.get(principal.user_id))


@router.post("/users/me/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def change_password(
    body: PasswordChange, principal: AccountHolder, logins: LoginServiceDep, request: Request
) -> Response:
    """Change the password; revokes every token and the account's own API keys.

    A wrong current password counts as a failed login, per account and per client
    address (429 + Retry-After past the login limits).
    """
    await logins.change_password(
        principal.user_id, body.current_password, body.new_password, _address(request)
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/users/me", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_me(principal: AccountHolder, users: UserServiceDep) -> Response:
    """Delete the account: its data key is destroyed first, then its rows and files."""
    await users.delete(principal.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/me/audit", response_model=AuditPageOut)
async def read_my_audit_trail(
    principal: AccountHolder,
    audit: AuditServiceDep,
    limit: PageLimit = 100,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AuditPageOut:
    """What was done with the account's data, and by whom, newest first."""
    return AuditPageOut.of(await audit.trail(principal.user_id, limit, cursor))


def _address(request: Request) -> str:
    """The client's address: the TCP peer, or what a trusted proxy says it is (uvicorn
    rewrites the peer from ``X-Forwarded-For`` only for ``PHOTOSTORE_TRUSTED_PROXIES``)."""
    return request.client.host if request.client else "unknown"


def _self_subject(user: User) -> AuditSubject:
    kind = kind_of_role(Role(user.role))
    return AuditSubject(owner_id=user.id, principal_id=user.id, principal_kind=kind.value)


def _tokens_for(
    user: User, place: RefreshPlace, tokens: TokenCodec, request: Request, response: Response
) -> TokenOut:
    settings = request.app.state.ctx.settings
    # RFC 6749 5.1: no cache, shared or private, may keep an answer holding tokens.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenOut(
        access_token=tokens.issue(user.id, user.token_version, role=user.role),
        expires_in=settings.access_token_minutes * 60,
        refresh_token=tokens.issue(user.id, user.token_version, kind=REFRESH, family=place),
    )
