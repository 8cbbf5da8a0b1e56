"""The rows of ``master_key_uses``: which master keys the stored data keys need.

Read in the system context (``Database.for_system``); only the trigger on ``user_keys``
writes them (migration 0008).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import MasterKeyUse


class MasterKeyUseRepository:
    """Counts of data keys per master key, in ``session``'s (system) transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def counts(self) -> dict[str, int]:
        """How many data keys each master key wraps, by master key id."""
        rows = await self._session.execute(
            select(MasterKeyUse.master_key_id, MasterKeyUse.data_keys).where(
                MasterKeyUse.data_keys > 0
            )
        )
        return dict(rows.all())
