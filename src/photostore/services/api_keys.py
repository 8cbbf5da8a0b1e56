"""API keys: making, listing and revoking a user's keys, and turning a presented key (a
user's or a service's) into a principal.

A ``user`` key acts on its owner's data with a subset of the owner's data scopes. A
``service`` key (``services.service_keys``) belongs to no account and acts for the user
each request names, with data scopes only; no account makes one, admins included. Keys
never carry account or admin scopes (``KEY_SCOPES``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from photostore.auth.apikeys import (
    ACTING_FOR_HEADER,
    hash_secret,
    new_key,
    parse_key,
    secret_matches,
)
from photostore.auth.permissions import KEY_SCOPES, Permission
from photostore.auth.principal import Principal, PrincipalKind, Role, kind_of_role, scopes_of_role
from photostore.db.repositories.api_keys import ApiKeyRepository, PresentedKeys
from photostore.db.repositories.users import UserRepository
from photostore.domain.keys import SERVICE_KEY, USER_KEY, ApiKey, NewKey
from photostore.domain.users import Account
from photostore.errors import BadRequest, Forbidden, InvalidInput, Unauthenticated
from photostore.ids import new_id
from photostore.services.context import ServiceContext
from photostore.text_rules import clean_key_name

# last_used_at is written at most this often per key, so busy keys do not turn every
# request into a row update.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class CreatedKey:
    """A new key and its one-time secret (``token``), never retrievable again."""

    key: ApiKey
    token: str


class ApiKeyService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(
        self,
        caller: Principal,
        name: str,
        kind: str,
        scopes: frozenset[Permission],
        expires_at: datetime | None,
    ) -> CreatedKey:
        """A user key owned by ``caller``; scopes beyond what the caller may grant are a 422.
        A service key is refused (403): they come from the operator's command."""
        name = clean_key_name(name)
        if kind == SERVICE_KEY:
            # A service key reads every user's library; an account (an admin's included)
            # that could make one would read photos. The operator makes them.
            raise Forbidden(
                "service keys are made by the operator: photostore service-keys create "
                "--data-dir <folder> --name <name> --scope <scope>"
            )
        if kind == USER_KEY:
            grantable = KEY_SCOPES & caller.scopes
        else:
            raise InvalidInput("kind must be 'user' or 'service'")
        beyond = sorted(s.value for s in scopes - grantable)
        if beyond:
            raise InvalidInput(f"a {kind} key cannot carry the scopes {beyond}")
        now = self.ctx.clock()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("expires_at must be in the future")
        parts = new_key(new_id())
        new = NewKey(
            id=parts.key_id,
            name=name,
            prefix=parts.prefix,
            secret_sha256=hash_secret(parts.secret),
            scopes=tuple(sorted(s.value for s in scopes)),
            expires_at=expires_at,
        )
        async with self.ctx.db.for_user(caller.user_id) as session:
            key = await ApiKeyRepository(session, caller.user_id).add(new, kind, now)
        return CreatedKey(key=key, token=parts.token)

    async def list(self, owner_id: uuid.UUID) -> list[ApiKey]:
        async with self.ctx.db.for_user(owner_id) as session:
            return await ApiKeyRepository(session, owner_id).list()

    async def revoke(self, owner_id: uuid.UUID, key_id: uuid.UUID) -> None:
        """Revoke one of the owner's keys (idempotent); another user's key is a 404."""
        async with self.ctx.db.for_user(owner_id) as session:
            await ApiKeyRepository(session, owner_id).revoke(key_id, self.ctx.clock())

    async def principal_for_key(self, token: str, acting_for: uuid.UUID | None) -> Principal:
        """The principal a presented key stands for, acting for the user ``acting_for``
        (from the ``ACTING_FOR_HEADER``, which the API reads) if a service key; 401 if
        the key is not usable."""
        parts = parse_key(token)
        now = self.ctx.clock()
        # The key's owner is unknown until the key is found: the lookup runs in the system
        # context, which the api_keys policy admits (as users' for login).
        async with self.ctx.db.for_system() as session:
            keys = PresentedKeys(session)
            key = await keys.find(parts.key_id)
            if key is None or not secret_matches(parts.secret, key.secret_sha256):
                raise Unauthenticated("the API key is not valid")
            if key.revoked_at is not None:
                raise Unauthenticated("the API key has been revoked")
            if key.expires_at is not None and key.expires_at <= now:
                raise Unauthenticated("the API key has expired")
            held = frozenset(Permission(s) for s in key.scopes if s in set(Permission))
            if key.kind == SERVICE_KEY:
                subject = await _acting_for(UserRepository(session), acting_for)
                principal = Principal(
                    user_id=subject.id,
                    role=Role.USER,
                    scopes=held & KEY_SCOPES,
                    kind=PrincipalKind.SERVICE,
                    actor_id=key.id,
                    key_id=key.id,
                )
            elif key.owner_id is None or key.owner_role is None:
                raise Unauthenticated("the API key is not valid")
            elif acting_for is not None and acting_for != key.owner_id:
                raise BadRequest(f"only service keys act for another user ({ACTING_FOR_HEADER})")
            else:
                # A user key never holds more than its owner's role grants today.
                role = Role(key.owner_role)
                principal = Principal(
                    user_id=key.owner_id,
                    role=role,
                    scopes=held & KEY_SCOPES & scopes_of_role(role),
                    kind=kind_of_role(role),
                    key_id=key.id,
                )
            stale_before = now - LAST_USED_PRECISION
            if key.last_used_at is None or key.last_used_at < stale_before:
                await keys.touch(key, stale_before, now)
        return principal


async def _acting_for(users: UserRepository, user_id: uuid.UUID | None) -> Account:
    """The user a service key's request names.

    A missing name is the caller's mistake (400). A user id with no user account behind
    it is 401, not 404: the request cannot be authenticated as anyone, and a 404 would
    read as "the resource is missing". Admin accounts hold no photo data, so a service
    cannot act for them either.
    """
    if user_id is None:
        raise BadRequest(f"a service key must name the user it acts for in {ACTING_FOR_HEADER}")
    user = await users.account(user_id)
    if user is None or user.role != Role.USER:
        raise Unauthenticated(f"{ACTING_FOR_HEADER} names no user account")
    return user
