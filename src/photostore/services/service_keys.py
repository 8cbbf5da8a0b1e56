"""Service keys: the keys other services of the photo application act with.

A service key acts for the user each request names (``X-Photostore-User``), with data
scopes only, so it reads and writes any user's library: it is the most powerful secret
photostore hands out. That is why no account makes one. The operator, who already holds
the data folder and the database, makes them (``photostore service-keys create``); every
admin sees them all and may revoke any (``/v1/admin/service-keys``), and the revocation
is in the admin's audit trail. A key belongs to no account, so no account's password
change, logout or deletion touches it; revoking it is the one way to end it early.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from photostore.auth.apikeys import hash_secret, new_key
from photostore.auth.permissions import KEY_SCOPES, Permission
from photostore.db.repositories.service_keys import ServiceKeyRepository
from photostore.domain.keys import NewKey, ServiceKey
from photostore.errors import InvalidInput
from photostore.ids import new_id
from photostore.services.context import ServiceContext
from photostore.text_rules import clean_key_name


@dataclass(frozen=True)
class CreatedServiceKey:
    """A new service key and its one-time secret (``token``), never retrievable again."""

    key: ServiceKey
    token: str


def parse_scopes(names: list[str]) -> frozenset[Permission]:
    """The permissions ``names`` spell; an unknown name or one a key may not carry is a 422."""
    known = {p.value: p for p in Permission}
    unknown = sorted(n for n in names if n not in known)
    if unknown:
        raise InvalidInput(f"unknown scopes {unknown}; a service key may carry {_carriable()}")
    return frozenset(known[n] for n in names)


def _carriable() -> list[str]:
    return sorted(s.value for s in KEY_SCOPES)


class ServiceKeyService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(
        self, name: str, scopes: frozenset[Permission], expires_at: datetime | None = None
    ) -> CreatedServiceKey:
        """A new service key with data ``scopes`` (at least one)."""
        name = clean_key_name(name)
        if not scopes:
            raise InvalidInput(f"give a service key at least one scope of {_carriable()}")
        beyond = sorted(s.value for s in scopes - KEY_SCOPES)
        if beyond:
            raise InvalidInput(
                f"a service key cannot carry the scopes {beyond}; it may carry {_carriable()}"
            )
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
        async with self.ctx.db.for_system() as session:
            key = await ServiceKeyRepository(session).add(new, now)
        return CreatedServiceKey(key=key, token=parts.token)

    async def list(self) -> list[ServiceKey]:
        """Every service key, revoked ones included, newest first."""
        async with self.ctx.db.for_system() as session:
            return await ServiceKeyRepository(session).list()

    async def revoke(self, key_id: uuid.UUID, by_admin: uuid.UUID | None = None) -> ServiceKey:
        """Revoke a service key (idempotent: the first revocation is kept); 404 if none.

        ``by_admin`` is the admin revoking it, None for the operator's command.
        """
        async with self.ctx.db.for_system() as session:
            return await ServiceKeyRepository(session).revoke(key_id, self.ctx.clock(), by_admin)
