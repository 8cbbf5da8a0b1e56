"""The rows of ``user_keys`` as key rotation reads and re-wraps them (the blob store reads
and makes data keys through ``crypto.datakeys``, in worker threads)."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import UserKey
from photostore.domain.data_keys import WrappedDataKey


class DataKeyRepository:
    """One user's data keys, in ``session``'s transaction (scoped to that user)."""

    def __init__(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        self._session = session
        self._user_id = user_id

    async def locked(self) -> list[WrappedDataKey]:
        """The user's data keys, locked to the transaction's end."""
        rows = await self._session.execute(
            select(UserKey.owner_id, UserKey.id, UserKey.wrapped_key, UserKey.master_key_id)
            .where(UserKey.owner_id == self._user_id)
            .with_for_update()
        )
        return [WrappedDataKey(*row) for row in rows]

    async def rewrap(self, key_id: uuid.UUID, wrapped_key: bytes, master_key_id: str) -> None:
        """Store the key ``key_id`` wrapped anew, under ``master_key_id``."""
        await self._session.execute(
            update(UserKey)
            .where(UserKey.owner_id == self._user_id, UserKey.id == key_id)
            .values(wrapped_key=wrapped_key, master_key_id=master_key_id)
        )
