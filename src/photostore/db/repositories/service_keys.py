"""The rows of ``service_keys``, in the system context's transaction of the caller (the
only one row-level security admits to them)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import RowMapping, case, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.domain.keys import NewKey, ServiceKey
from photostore.errors import NotFound

_COLUMNS = (
    models.ServiceKey.id,
    models.ServiceKey.name,
    models.ServiceKey.prefix,
    models.ServiceKey.scopes,
    models.ServiceKey.created_at,
    models.ServiceKey.made_by_admin_id,
    models.ServiceKey.expires_at,
    models.ServiceKey.last_used_at,
    models.ServiceKey.revoked_at,
    models.ServiceKey.revoked_by_admin_id,
)


class ServiceKeyRepository:
    """Every service key, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, key: NewKey, created_at: datetime) -> ServiceKey:
        """Store a new service key, made by the operator (the caller checks it)."""
        await self._session.execute(
            insert(models.ServiceKey).values(
                id=key.id,
                name=key.name,
                prefix=key.prefix,
                secret_sha256=key.secret_sha256,
                scopes=list(key.scopes),
                created_at=created_at,
                expires_at=key.expires_at,
            )
        )
        return ServiceKey(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=key.scopes,
            created_at=created_at,
            made_by_admin_id=None,
            expires_at=key.expires_at,
            last_used_at=None,
            revoked_at=None,
            revoked_by_admin_id=None,
        )

    async def list(self) -> list[ServiceKey]:
        """Every service key, revoked ones included, newest first."""
        rows = await self._session.execute(
            select(*_COLUMNS).order_by(
                models.ServiceKey.created_at.desc(), models.ServiceKey.id.desc()
            )
        )
        return [_service_key(row._mapping) for row in rows]

    async def revoke(
        self, key_id: uuid.UUID, at: datetime, by_admin: uuid.UUID | None
    ) -> ServiceKey:
        """Revoke the key at ``at`` by ``by_admin`` (None: the operator) unless it already
        is: the first revocation is kept. NotFound if there is no such key."""
        # SET reads the row as it was: a key revoked already keeps its time and admin.
        # A revocation racing this one holds the row until it commits.
        first = models.ServiceKey.revoked_at.is_(None)
        row = (
            await self._session.execute(
                update(models.ServiceKey)
                .where(models.ServiceKey.id == key_id)
                .values(
                    revoked_at=func.coalesce(models.ServiceKey.revoked_at, at),
                    revoked_by_admin_id=case(
                        (first, by_admin), else_=models.ServiceKey.revoked_by_admin_id
                    ),
                )
                .returning(*_COLUMNS)
            )
        ).first()
        if row is None:
            raise NotFound("no such service key")
        return _service_key(row._mapping)


def _service_key(row: RowMapping) -> ServiceKey:
    return ServiceKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        scopes=tuple(row["scopes"]),
        created_at=row["created_at"],
        made_by_admin_id=row["made_by_admin_id"],
        expires_at=row["expires_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        revoked_by_admin_id=row["revoked_by_admin_id"],
    )
