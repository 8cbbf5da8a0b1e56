"""Logins and password changes under the login limits (``auth.ratelimit``).

A login is checked in two steps, so that the caller can name whom the request is audited
against in between, whether or not the password was right: :meth:`LoginService.check`
counts the attempt and checks the password, :meth:`LoginService.accept` refuses a wrong
one (401) or starts the login's family of refresh tokens (``services.refresh``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from photostore.auth.ratelimit import Attempt
from photostore.auth.tokens import RefreshPlace
from photostore.domain.users import User
from photostore.errors import Forbidden, InvalidInput, Unauthenticated
from photostore.services.context import ServiceContext
from photostore.services.refresh import RefreshFamilies
from photostore.services.users import UserService, normalize_email


@dataclass(frozen=True)
class CheckedLogin:
    """A login attempt whose password was checked, counted as failed until accepted."""

    user: User | None
    """Whom the email names, if anyone: the request is audited against them either way."""
    ok: bool
    counted: Attempt


@dataclass(frozen=True)
class Login:
    user: User
    place: RefreshPlace
    """The login's family of refresh tokens, at its first generation."""


def limit_key(username: str) -> str:
    """The email as accounts are looked up by it, so that spellings of one address share
    one count; a name that is no email is counted as given."""
    try:
        return normalize_email(username)
    except InvalidInput:
        return username.strip().lower()


class LoginService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.limiter = ctx.login_limiter

    async def check(self, username: str, password: str, address: str) -> CheckedLogin:
        """Count a login from ``address`` (429 past the limits) and check its password."""
        counted = self.limiter.begin(limit_key(username), address)
        try:
            attempt = await UserService(self.ctx).check_credentials(username, password)
        except BaseException:
            self.limiter.withdraw(counted)  # never checked: a busy hasher, the database down
            raise
        return CheckedLogin(user=attempt.user, ok=attempt.ok, counted=counted)

    async def accept(self, checked: CheckedLogin) -> Login:
        """The login ``checked`` allows; 401 alike for an unknown email and a wrong
        password."""
        if checked.user is None or not checked.ok:
            raise Unauthenticated("incorrect email or password")
        self.limiter.succeeded(checked.counted)
        place = await RefreshFamilies(self.ctx).start(checked.user.id)
        return Login(user=checked.user, place=place)

    async def change_password(
        self, user_id: uuid.UUID, current: str, new: str, address: str
    ) -> None:
        """:meth:`UserService.change_password`, a wrong current password counted as a
        failed login, per account and per client address (429 past the login limits): a
        stolen token must not become an unlimited oracle for the password."""
        counted = self.limiter.begin(f"account:{user_id}", address)
        try:
            await UserService(self.ctx).change_password(user_id, current, new)
        except Forbidden:
            raise  # the current password was wrong: the attempt stays counted
        except BaseException:
            self.limiter.withdraw(counted)  # never checked: the new password refused, a busy hasher
            raise
        self.limiter.succeeded(counted)
