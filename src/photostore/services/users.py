"""Accounts: creating users, checking credentials, reading one's own account."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

import anyio

from photostore.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from photostore.auth.permissions import Permission
from photostore.auth.principal import Principal, Role, principal_of_account
from photostore.auth.tokens import TokenClaims
from photostore.crypto.deletion_log import deletion_log_path, record_deletion
from photostore.db.repositories.api_keys import ApiKeyRepository
from photostore.db.repositories.users import UserRepository
from photostore.db.request import RevocationCheck, defer_revocation_check
from photostore.domain.users import User
from photostore.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from photostore.ids import new_id
from photostore.services.context import ServiceContext
from photostore.storage.base import BlobStore

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def normalize_email(email: str) -> str:
    """The form an email is stored and looked up in, at every entry (sign-up, login,
    admin and CLI creation): no surrounding spaces, lower case, Unicode NFC.

    NFC makes two spellings of one visible address (``é`` as one code point, or ``e``
    and a combining accent) one account. It is applied after lowering, which can
    decompose. ``str.casefold`` is not used: it also folds ``ß`` to ``ss``, merging
    addresses a mail server tells apart, and would strand accounts stored before.
    """
    normalized = unicodedata.normalize("NFC", email.strip().lower())
    if not _EMAIL.fullmatch(normalized):
        raise InvalidInput("email must look like name@domain")
    return normalized


def check_password_policy(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        )


@dataclass(frozen=True)
class LoginAttempt:
    user: User | None
    ok: bool


@dataclass(frozen=True)
class Registration:
    """An account an admin created (``user``), or an open sign-up's answer (``user``
    None): the email as stored, the same whether or not it was free."""

    email: str
    user: User | None = None


def delete_blobs_of(blobs: BlobStore, user_id: uuid.UUID) -> None:
    """Remove every original and derivative of ``user_id`` from the blob store."""
    for prefix in (f"originals/{user_id}/", f"derivatives/{user_id}/"):
        for key in list(blobs.keys(prefix)):
            blobs.delete(key)


class UserService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(self, email: str, password: str, role: Role = Role.USER) -> User:
        """Create an account; an email already in use is a :class:`Conflict`."""
        email = normalize_email(email)
        check_password_policy(password)
        password_hash = await self.ctx.passwords.hash(password)
        async with self.ctx.db.for_system() as session:
            return await UserRepository(session).add(new_id(), email, password_hash, role.value)

    async def register(
        self, caller: Principal | None, email: str, password: str, role: Role
    ) -> Registration:
        """Create an account: admins always (a :class:`Conflict` for an email in use);
        anyone when sign-up is open (``allow_signup``), role user only, answered alike
        whether or not the email was free (:meth:`sign_up`)."""
        if caller is not None and caller.can(Permission.ADMIN_USERS):
            user = await self.create(email, password, role)
            return Registration(email=user.email, user=user)
        if not self.ctx.settings.allow_signup:
            if caller is None:
                raise Unauthenticated("creating accounts needs an admin's access token")
            raise Forbidden("only admins create accounts")
        if role != Role.USER:
            raise Forbidden("only admins create admin accounts")
        return Registration(email=await self.sign_up(email, password))

    async def sign_up(self, email: str, password: str) -> str:
        """Open sign-up: create a user account unless the email is taken, and say the same
        either way (the normalized email), so sign-up cannot tell who has an account.

        Both ways hash the password first, so they take as long. Whoever signed up learns
        that it worked by logging in.
        """
        try:
            return (await self.create(email, password, Role.USER)).email
        except Conflict:
            return normalize_email(email)

    async def check_credentials(self, email: str, password: str) -> LoginAttempt:
        """Who the email names (if anyone) and whether the password is theirs.

        An unknown email is checked against a dummy hash, so the answer takes as long
        either way; callers must answer both failures alike.
        """
        try:
            email = normalize_email(email)
        except InvalidInput:
            email = ""
        async with self.ctx.db.for_system() as session:
            found = await UserRepository(session).credentials_by_email(email)
        ok = await self.ctx.passwords.verify(password, found.password_hash if found else None)
        return LoginAttempt(user=found.user if found else None, ok=ok and found is not None)

    async def get(self, user_id: uuid.UUID) -> User:
        async with self.ctx.db.for_user(user_id) as session:
            return await UserRepository(session).get(user_id)

    async def by_email(self, email: str) -> User:
        """The account of ``email`` (for the command line: ``import``, ``export``);
        NotFound if there is none."""
        async with self.ctx.db.for_system() as session:
            found = await UserRepository(session).credentials_by_email(normalize_email(email))
        if found is None:
            raise NotFound(f"no account has the email {email!r}")
        return found.user

    async def principal_for_access_token(self, claims: TokenClaims) -> Principal:
        """The principal a verified access token names. The database's part of the check
        (the account exists, the version is current, the role unchanged) rides with the
        request's first transaction (``db.request``); a token without a role, or one
        checked outside a request, is checked at once."""
        if claims.role is not None and claims.role in set(Role):
            check = RevocationCheck(claims.user_id, claims.token_version, claims.role)
            if defer_revocation_check(check):
                return principal_of_account(claims.user_id, Role(claims.role))
        return await self.principal_for_token(claims.user_id, claims.token_version)

    async def principal_for_token(self, user_id: uuid.UUID, token_version: int) -> Principal:
        """The principal a verified token names, if the user still exists and it is not revoked."""
        async with self.ctx.db.for_user(user_id) as session:
            user = await UserRepository(session).account(user_id)
        if user is None or user.token_version != token_version:
            raise Unauthenticated("the token has been revoked")
        return principal_of_account(user.id, Role(user.role))

    async def revoke_tokens(self, user_id: uuid.UUID) -> None:
        """Invalidate every token issued to the user so far (logout everywhere)."""
        async with self.ctx.db.for_user(user_id) as session:
            await UserRepository(session).revoke_tokens(user_id)

    async def change_password(self, user_id: uuid.UUID, current: str, new: str) -> None:
        """Set a new password after checking the current one; revokes every token and the
        user's own API keys (an attacker who knew the old password may have made some)."""
        check_password_policy(new)
        async with self.ctx.db.for_user(user_id) as session:
            held = await UserRepository(session).credentials(user_id)
        if not await self.ctx.passwords.verify(current, held.password_hash):
            raise Forbidden("the current password is not correct")
        new_hash = await self.ctx.passwords.hash(new)
        now = self.ctx.clock()
        async with self.ctx.db.for_user(user_id) as session:
            await UserRepository(session).set_password(user_id, new_hash)
            await ApiKeyRepository(session, user_id).revoke_all(now)

    async def delete(self, user_id: uuid.UUID) -> None:
        """Delete an account: logged first, then its data key, its rows, its files.

        The deletion log (``crypto.deletion_log``, beside the master key) is written and
        fsynced before anything is destroyed: a database backup taken before still holds
        the account, and a restore of it is undone by re-applying the log
        (``services.deletions``, on every start of ``serve``). Destroying the data key
        (crypto-shredding) comes next and commits on its own: from then on the live
        database can decrypt none of the user's blobs (a file a crash left behind, a
        copy of the blob folder), whatever happens to the later steps. Deleting the user
        row cascades to every tenant row (the audit log stays; it holds no personal
        data). Running it again for an account half deleted finishes the job.
        """
        log_path = deletion_log_path(self.ctx.settings)
        await anyio.to_thread.run_sync(record_deletion, log_path, user_id, self.ctx.clock())
        async with self.ctx.db.for_user(user_id) as session:
            await UserRepository(session).delete_data_key(user_id)
        async with self.ctx.db.for_user(user_id) as session:
            await UserRepository(session).delete(user_id)
        await anyio.to_thread.run_sync(delete_blobs_of, self.ctx.blobs, user_id)
