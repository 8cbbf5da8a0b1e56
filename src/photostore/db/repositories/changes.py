"""Reading the change feed (table ``changes``, written by the triggers of migration 0011).

A change is handed out only once every transaction older than its own has ended: rows
are read in (``xid``, ``id``) order, and only those of transactions below the snapshot's
``xmin``, the oldest transaction still running. A transaction that began earlier but
commits later is still running when a reader passes its younger neighbours, so its
``xid`` is at or above that reader's bound and its changes are not yet read; once it
ends, they come next, after the cursor and never behind it. A transaction that runs
long holds the feed back for as long; nothing is skipped.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.domain.changes import Change, ChangeSlice, FeedPosition

_AFTER = text(
    """
    SELECT xid::text::bigint, id, kind, image_id, detail, at FROM changes
    WHERE owner_id = :owner_id
      AND (xid, id) > (CAST(CAST(:xid AS text) AS xid8), :change_id)
      AND xid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY xid, id
    LIMIT :limit
    """
)
# Every change of a transaction below it is written and visible: the end of the feed.
_END = text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


class ChangeRepository:
    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def after(self, position: FeedPosition, limit: int) -> ChangeSlice:
        """Up to ``limit`` changes of the owner after ``position``, in feed order."""
        rows = await self._session.execute(
            _AFTER,
            {
                "owner_id": self._owner_id,
                "xid": position.xid,
                "change_id": position.change_id,
                "limit": limit,
            },
        )
        changes = [
            Change(FeedPosition(xid, change_id), kind, image_id, detail, at)
            for xid, change_id, kind, image_id, detail, at in rows
        ]
        return ChangeSlice(changes, changes[-1].position if changes else position)

    async def end(self) -> FeedPosition:
        """The position after every change written so far (and before any to come)."""
        xmin = await self._session.scalar(_END)
        return FeedPosition(int(xmin or 0), 0)
