"""Per-user data keys: made on a user's first write, unwrapped on every read.

Blob stores are synchronous (services call them from worker threads), so the keys are
read through a small synchronous pool on the same service role (``db.sync_session``),
inside a transaction scoped to the owner like every other query, by the statements of
``db.repositories.data_keys``: row-level security fences ``user_keys`` too. Unwrapped
keys are not cached, so destroying a key (crypto-shredding) takes effect at once in
every process.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from photostore.crypto.masterkeys import KEY_BYTES, MasterKeyring
from photostore.db.repositories.data_keys import SyncDataKeyRepository
from photostore.db.sync_session import SyncDatabase
from photostore.domain.data_keys import WrappedDataKey
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
            keys = SyncDataKeyRepository(conn, owner_id)
            found = keys.current()
            if found is None:
                key_id = new_id()
                fresh = secrets.token_bytes(KEY_BYTES)
                wrapped = self.keyring.wrap(owner_id, key_id, fresh)
                keys.add_unless_made(key_id, wrapped, self.keyring.current_id)
                found = keys.current()
                assert found is not None  # made now, or by the writer that came first
        return self._unwrap(found)

    def for_reading(self, owner_id: uuid.UUID, key_id: uuid.UUID) -> DataKey:
        """The data key ``key_id`` of the owner; :class:`Unreadable` if it is gone."""
        with self.db.for_user(owner_id) as conn:
            found = SyncDataKeyRepository(conn, owner_id).find(key_id)
        if found is None:
            raise Unreadable("the data key of this blob no longer exists")
        return self._unwrap(found)

    def _unwrap(self, stored: WrappedDataKey) -> DataKey:
        key = self.keyring.unwrap(
            stored.owner_id, stored.id, stored.wrapped_key, stored.master_key_id
        )
        return DataKey(id=stored.id, key=key)

    def close(self) -> None:
        self.db.dispose()
