"""Routes: accounts (``/v1/users``) and login (``/v1/auth/token``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, status

from photostore.api.deps import (
    AccountHolder,
    OptionalPrincipal,
    TokensDep,
    UserServiceDep,
)
from photostore.api.schemas.users import TokenOut, UserCreate, UserOut
from photostore.auth.permissions import Permission
from photostore.auth.principal import Role
from photostore.errors import Forbidden, Unauthenticated

router = APIRouter(prefix="/v1", tags=["users"])


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def create_user(
    body: UserCreate, request: Request, caller: OptionalPrincipal, users: UserServiceDep
) -> UserOut:
    """Create an account: admins always; anyone when sign-up is open (role user only)."""
    is_admin = caller is not None and caller.can(Permission.ADMIN_USERS)
    if not is_admin:
        if not request.app.state.ctx.settings.allow_signup:
            if caller is None:
                raise Unauthenticated("creating accounts needs an admin's access token")
            raise Forbidden("only admins create accounts")
        if body.role != "user":
            raise Forbidden("only admins create admin accounts")
    user = await users.create(body.email, body.password, Role(body.role))
    return UserOut.of(user)


@router.post("/auth/token", response_model=TokenOut)
async def issue_token(
    username: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    users: UserServiceDep,
    tokens: TokensDep,
    request: Request,
) -> TokenOut:
    """OAuth2 password grant: exchange email and password for a bearer token."""
    user = await users.authenticate(username, password)
    settings = request.app.state.ctx.settings
    return TokenOut(
        access_token=tokens.issue(user.id, user.token_version),
        expires_in=settings.access_token_minutes * 60,
    )


@router.get("/users/me", response_model=UserOut)
async def read_me(principal: AccountHolder, users: UserServiceDep) -> UserOut:
    return UserOut.of(await users.get(principal.user_id))
