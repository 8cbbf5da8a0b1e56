"""The rows of ``user_keys``: as key rotation reads and re-wraps them
(:class:`DataKeyRepository`, on the loop), and as the blob store reads and makes them
through ``crypto.datakeys`` (:class:`SyncDataKeyRepository`, in worker threads)."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import UserKey
from photostore.domain.data_keys import WrappedDataKey

_COLUMNS = (UserKey.owner_id, UserKey.id, UserKey.wrapped_key, UserKey.master_key_id)


class DataKeyRepository:
    """One user's data keys, in ``session``'s transaction (scoped to that user)."""

    def __init__(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        self._session = session
        self._user_id = user_id

    async def locked(self) -> list[WrappedDataKey]:
        """The user's data keys, locked to the transaction's end."""
        rows = await self._session.execute(
            select(*_COLUMNS).where(UserKey.owner_id == self._user_id).with_for_update()
        )
        return [WrappedDataKey(*row) for row in rows]

    async def rewrap(self, key_id: uuid.UUID, wrapped_key: bytes, master_key_id: str) -> None:
        """Store the key ``key_id`` wrapped anew, under ``master_key_id``."""
        await self._session.execute(
            update(UserKey)
            .where(UserKey.owner_id == self._user_id, UserKey.id == key_id)
            .values(wrapped_key=wrapped_key, master_key_id=master_key_id)
        )


class SyncDataKeyRepository:
    """One user's data keys, in ``conn``'s transaction (``db.sync_session``, scoped to
    that user): for the blob store, which runs in worker threads."""

    def __init__(self, conn: Connection, owner_id: uuid.UUID) -> None:
        self._conn = conn
        self._owner_id = owner_id

    def current(self) -> WrappedDataKey | None:
        """The owner's data key (a user has one at most), if made yet."""
        row = self._conn.execute(
            select(*_COLUMNS).where(UserKey.owner_id == self._owner_id)
        ).first()
        return WrappedDataKey(*row) if row is not None else None

    def find(self, key_id: uuid.UUID) -> WrappedDataKey | None:
        """The owner's data key ``key_id``; None once it is destroyed."""
        row = self._conn.execute(
            select(*_COLUMNS).where(UserKey.owner_id == self._owner_id, UserKey.id == key_id)
        ).first()
        return WrappedDataKey(*row) if row is not None else None

    def add_unless_made(self, key_id: uuid.UUID, wrapped_key: bytes, master_key_id: str) -> None:
        """Store a new data key for the owner, unless another writer made one first (the
        caller reads :meth:`current` again: the key that won is the key)."""
        self._conn.execute(
            insert(UserKey)
            .values(
                owner_id=self._owner_id,
                id=key_id,
                wrapped_key=wrapped_key,
                master_key_id=master_key_id,
            )
            .on_conflict_do_nothing(index_elements=["owner_id"])
        )
