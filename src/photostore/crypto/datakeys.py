"""Per-user data keys: made on a user's first write, unwrapped on every read.

Blob stores are synchronous (services call them from worker threads), so the keys are
read through a small synchronous pool on the same service role (``db.sync_session``),
inside a transaction scoped to the owner like every other query: row-level security
fences ``user_keys`` too. Unwrapped keys are not cached, so destroying a key
(crypto-shredding) takes effect at once in every process.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from photostore.crypto.masterkeys import KEY_BYTES, MasterKeyring
from photostore.db.models import UserKey
from photostore.db.sync_session import SyncDatabase
from photostore.errors import Unreadable
from photostore.ids import new_id


@dataclass(frozen=True)
class DataKey:
    id: uuid.UUID
    key: bytes


class DataKeys:
    """Reads and creates users' data keys (never destroys them: services do that)."""

    def __init__(self, db: SyncDatabase, keyring: MasterKeyring) -> None:
        self.db = db
        self.keyring = keyring

    @classmethod
    def connect(cls, database_url: str, keyring: MasterKeyring, pool_size: int) -> DataKeys:
        return cls(SyncDatabase.connect(database_url, 2, overflow=pool_size), keyring)

    def for_writing(self, owner_id: uuid.UUID) -> DataKey:
        """The owner's data key, made (random 256 bits) and stored wrapped if missing."""
        with self.db.for_user(owner_id) as conn:
            row = conn.execute(select(UserKey).where(UserKey.owner_id == owner_id)).first()
            if row is None:
                key_id = new_id()
                fresh = secrets.token_bytes(KEY_BYTES)
                conn.execute(
                    insert(UserKey)
                    .values(
                        owner_id=owner_id,
                        id=key_id,
                        wrapped_key=self.keyring.wrap(owner_id, key_id, fresh),
                        master_key_id=self.keyring.current_id,
                    )
                    .on_conflict_do_nothing(index_elements=["owner_id"])
                )
                row = conn.execute(select(UserKey).where(UserKey.owner_id == owner_id)).one()
        return self._unwrap(owner_id, row.id, row.wrapped_key, row.master_key_id)

    def for_reading(self, owner_id: uuid.UUID, key_id: uuid.UUID) -> DataKey:
        """The data key ``key_id`` of the owner; :class:`Unreadable` if it is gone."""
        with self.db.for_user(owner_id) as conn:
            row = conn.execute(
                select(UserKey).where(UserKey.owner_id == owner_id, UserKey.id == key_id)
            ).first()
        if row is None:
            raise Unreadable("the data key of this blob no longer exists")
        return self._unwrap(owner_id, row.id, row.wrapped_key, row.master_key_id)

    def _unwrap(
        self, owner_id: uuid.UUID, key_id: uuid.UUID, wrapped: bytes, master_id: str
    ) -> DataKey:
        return DataKey(id=key_id, key=self.keyring.unwrap(owner_id, key_id, wrapped, master_id))

    def close(self) -> None:
        self.db.dispose()
