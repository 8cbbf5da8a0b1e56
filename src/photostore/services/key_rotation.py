"""Master key rotation: re-wrap every data key under the current master key.

Blobs are not touched: they are encrypted under data keys, and only the wrapping of
those keys changes. Each user's key is re-wrapped in a transaction scoped to that user,
so rotation needs no access beyond what the service role already has.
"""

from __future__ import annotations

from photostore.crypto.masterkeys import MasterKeyring
from photostore.db.repositories.data_keys import DataKeyRepository
from photostore.db.repositories.users import UserRepository
from photostore.services.context import ServiceContext


async def rewrap_data_keys(ctx: ServiceContext, ring: MasterKeyring) -> int:
    """Re-wrap every data key not yet under ``ring.current``; return how many changed.

    Running it again after an interruption finishes the job: keys already moved are
    skipped.
    """
    async with ctx.db.for_system() as session:
        user_ids = await UserRepository(session).ids()
    changed = 0
    for user_id in user_ids:
        async with ctx.db.for_user(user_id) as session:
            keys = DataKeyRepository(session, user_id)
            for key in await keys.locked():
                if key.master_key_id == ring.current_id:
                    continue
                data_key = ring.unwrap(key.owner_id, key.id, key.wrapped_key, key.master_key_id)
                await keys.rewrap(
                    key.id, ring.wrap(key.owner_id, key.id, data_key), ring.current_id
                )
                changed += 1
    return changed
