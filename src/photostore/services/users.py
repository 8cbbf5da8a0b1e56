"""Accounts: creating users, checking credentials, reading one's own account."""

from __future__ import annotations

import re
import uuid

import anyio
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from photostore.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    verify_password,
)
from photostore.auth.principal import Principal, Role, scopes_of_role
from photostore.db.models import User
from photostore.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from photostore.ids import new_id
from photostore.services.context import ServiceContext

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively and without surrounding spaces."""
    normalized = email.strip().lower()
    if not _EMAIL.fullmatch(normalized):
        raise InvalidInput("email must look like name@domain")
    return normalized


def check_password_policy(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        )


class UserService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(self, email: str, password: str, role: Role = Role.USER) -> User:
        """Create an account; an email already in use is a :class:`Conflict`."""
        email = normalize_email(email)
        check_password_policy(password)
        password_hash = await anyio.to_thread.run_sync(hash_password, password)
        user = User(id=new_id(), email=email, password_hash=password_hash, role=role.value)
        try:
            async with self.ctx.db.for_system() as session:
                session.add(user)
        except IntegrityError as exc:
            raise Conflict("an account with this email already exists") from exc
        return user

    async def authenticate(self, email: str, password: str) -> User:
        """The user these credentials belong to; the same error whatever is wrong."""
        try:
            email = normalize_email(email)
        except InvalidInput:
            email = ""
        async with self.ctx.db.for_system() as session:
            user = await session.scalar(select(User).where(User.email == email))
        ok = await anyio.to_thread.run_sync(
            verify_password, password, user.password_hash if user else None
        )
        if user is None or not ok:
            raise Unauthenticated("incorrect email or password")
        return user

    async def get(self, user_id: uuid.UUID) -> User:
        async with self.ctx.db.for_user(user_id) as session:
            user = await session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    async def principal_for_token(self, user_id: uuid.UUID, token_version: int) -> Principal:
        """The principal a verified token names, if the user still exists and it is not revoked."""
        async with self.ctx.db.for_user(user_id) as session:
            user = await session.get(User, user_id)
        if user is None or user.token_version != token_version:
            raise Unauthenticated("the token has been revoked")
        role = Role(user.role)
        return Principal(user_id=user.id, email=user.email, role=role, scopes=scopes_of_role(role))
