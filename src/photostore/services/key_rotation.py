"""Master key rotation: re-wrap every data key under the current master key.

Blobs are not touched: they are encrypted under data keys, and only the wrapping of
those keys changes. Each user's key is re-wrapped in a transaction scoped to that user,
so rotation needs no access beyond what the service role already has.
"""

from __future__ import annotations

from sqlalchemy import select

from photostore.crypto.masterkeys import MasterKeyring
from photostore.db.models import User, UserKey
from photostore.services.context import ServiceContext


async def rewrap_data_keys(ctx: ServiceContext, ring: MasterKeyring) -> int:
    """Re-wrap every data key not yet under ``ring.current``; return how many changed.

    Running it again after an interruption finishes the job: keys already moved are
    skipped.
    """
    async with ctx.db.for_system() as session:
        user_ids = list(await session.scalars(select(User.id).order_by(User.id)))
    changed = 0
    for user_id in user_ids:
        async with ctx.db.for_user(user_id) as session:
            rows = await session.scalars(
                select(UserKey).where(UserKey.owner_id == user_id).with_for_update()
            )
            for row in rows:
                if row.master_key_id == ring.current_id:
                    continue
                data_key = ring.unwrap(row.owner_id, row.id, row.wrapped_key, row.master_key_id)
                row.wrapped_key = ring.wrap(row.owner_id, row.id, data_key)
                row.master_key_id = ring.current_id
                changed += 1
    return changed
