"""The rows of ``api_keys``: one owner's keys, in the transaction of the caller; and
the lookup of a presented key of either kind (``api_keys`` or ``service_keys``), in
the system context."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    RowMapping,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Update
from sqlalchemy.sql.schema import Table

from photostore.db import models
from photostore.domain.keys import SERVICE_KEY, USER_KEY, ApiKey, NewKey, PresentedKey
from photostore.errors import NotFound

_COLUMNS = (
    models.ApiKey.id,
    models.ApiKey.name,
    models.ApiKey.prefix,
    models.ApiKey.kind,
    models.ApiKey.scopes,
    models.ApiKey.created_at,
    models.ApiKey.expires_at,
    models.ApiKey.last_used_at,
    models.ApiKey.revoked_at,
)

_KEYS = models.ApiKey.metadata.tables[models.ApiKey.__tablename__]
_SERVICE_KEYS = models.ServiceKey.metadata.tables[models.ServiceKey.__tablename__]
_OWNERS = models.User.metadata.tables[models.User.__tablename__]
# Every request of a service presents its key: the key and its owner are read in one
# statement built once (two ORM loads and an update per request cost 3.3 ms, against
# 1.5 ms for a login token's check). Both kinds of key look alike, so both tables are
# asked in that one statement; a service key has no owner.
_KEY_AND_OWNER = union_all(
    select(
        _KEYS.c.id,
        _KEYS.c.secret_sha256,
        _KEYS.c.kind,
        _KEYS.c.scopes,
        _KEYS.c.revoked_at,
        _KEYS.c.expires_at,
        _KEYS.c.last_used_at,
        _OWNERS.c.id.label("owner_id"),
        _OWNERS.c.email.label("owner_email"),
        _OWNERS.c.role.label("owner_role"),
    )
    .select_from(_KEYS.outerjoin(_OWNERS, _OWNERS.c.id == _KEYS.c.owner_id))
    .where(_KEYS.c.id == bindparam("key_id")),
    select(
        _SERVICE_KEYS.c.id,
        _SERVICE_KEYS.c.secret_sha256,
        literal(SERVICE_KEY).label("kind"),
        _SERVICE_KEYS.c.scopes,
        _SERVICE_KEYS.c.revoked_at,
        _SERVICE_KEYS.c.expires_at,
        _SERVICE_KEYS.c.last_used_at,
        cast(null(), UUID(as_uuid=True)).label("owner_id"),
        null().label("owner_email"),
        null().label("owner_role"),
    ).where(_SERVICE_KEYS.c.id == bindparam("key_id")),
)


def _touch(table: Table) -> Update:
    """last_used_at of a key, written at most once per ``LAST_USED_PRECISION``
    (``services.api_keys``). The WHERE keeps two requests racing past the check from
    writing twice."""
    return (
        update(table)
        .where(
            table.c.id == bindparam("key_id"),
            or_(table.c.last_used_at.is_(None), table.c.last_used_at < bindparam("stale_before")),
        )
        .values(last_used_at=bindparam("now"))
    )


_TOUCH = {USER_KEY: _touch(_KEYS), SERVICE_KEY: _touch(_SERVICE_KEYS)}


class ApiKeyRepository:
    """API keys of one owner, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def add(self, key: NewKey, kind: str, created_at: datetime) -> ApiKey:
        """Store a new key of the owner (the caller checks its name, kind and scopes)."""
        await self._session.execute(
            insert(models.ApiKey).values(
                owner_id=self._owner_id,
                id=key.id,
                name=key.name,
                prefix=key.prefix,
                secret_sha256=key.secret_sha256,
                kind=kind,
                scopes=list(key.scopes),
                created_at=created_at,
                expires_at=key.expires_at,
            )
        )
        return ApiKey(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            kind=kind,
            scopes=key.scopes,
            created_at=created_at,
            expires_at=key.expires_at,
            last_used_at=None,
            revoked_at=None,
        )

    async def list(self) -> list[ApiKey]:
        """The owner's keys, revoked ones included, newest first."""
        rows = await self._session.execute(
            select(*_COLUMNS)
            .where(models.ApiKey.owner_id == self._owner_id)
            .order_by(models.ApiKey.created_at.desc(), models.ApiKey.id.desc())
        )
        return [_api_key(row._mapping) for row in rows]

    async def revoke(self, key_id: uuid.UUID, at: datetime) -> None:
        """Revoke the key at ``at`` unless it already is (the first revocation is kept);
        NotFound if it is not the owner's."""
        revoked = await self._session.scalar(
            update(models.ApiKey)
            .where(models.ApiKey.owner_id == self._owner_id, models.ApiKey.id == key_id)
            .values(revoked_at=func.coalesce(models.ApiKey.revoked_at, at))
            .returning(models.ApiKey.id)
        )
        if revoked is None:
            raise NotFound("no such API key")

    async def revoke_all(self, at: datetime) -> None:
        """Revoke, at ``at``, every user key of the owner not revoked yet."""
        await self._session.execute(
            update(models.ApiKey)
            .where(
                models.ApiKey.owner_id == self._owner_id,
                models.ApiKey.kind == USER_KEY,
                models.ApiKey.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )


class PresentedKeys:
    """Keys of both kinds as requests present them, in the system context's
    ``session`` (the key's owner is unknown until the key is found)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, key_id: uuid.UUID) -> PresentedKey | None:
        """The key ``key_id`` of either kind, with its owner's account, if there is one."""
        row = (await self._session.execute(_KEY_AND_OWNER, {"key_id": key_id})).first()
        if row is None:
            return None
        fields = row._mapping
        return PresentedKey(
            id=fields["id"],
            secret_sha256=fields["secret_sha256"],
            kind=fields["kind"],
            scopes=tuple(fields["scopes"]),
            revoked_at=fields["revoked_at"],
            expires_at=fields["expires_at"],
            last_used_at=fields["last_used_at"],
            owner_id=fields["owner_id"],
            owner_email=fields["owner_email"],
            owner_role=fields["owner_role"],
        )

    async def touch(self, key: PresentedKey, stale_before: datetime, now: datetime) -> None:
        """Set the key's last_used_at to ``now`` unless it is after ``stale_before``."""
        await self._session.execute(
            _TOUCH[key.kind], {"key_id": key.id, "stale_before": stale_before, "now": now}
        )


def _api_key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        kind=row["kind"],
        scopes=tuple(row["scopes"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )
