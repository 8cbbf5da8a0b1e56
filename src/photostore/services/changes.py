"""The change feed of a user's library: what a service has to process, what a gallery has
to sync, followed with a cursor that never skips a change (``db.repositories.changes``)."""

from __future__ import annotations

import base64
import json
import uuid

from photostore.db.repositories.changes import ChangeRepository
from photostore.domain.changes import ChangeSlice, FeedPosition
from photostore.errors import BadRequest
from photostore.services.context import ServiceContext
from photostore.services.pagination import check_limit

_START = FeedPosition(0, 0)


def encode_feed_cursor(position: FeedPosition) -> str:
    raw = json.dumps(["c", position.xid, position.change_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_feed_cursor(cursor: str) -> FeedPosition:
    """The position a feed cursor holds; any other string is a 400."""
    invalid = BadRequest("the cursor is not a change feed cursor; start again without one")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        marker, xid, change_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise invalid from exc
    numbers = (xid, change_id)
    if marker != "c" or not all(type(n) is int and 0 <= n < 2**63 for n in numbers):
        raise invalid
    return FeedPosition(xid, change_id)


class ChangeFeedService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def read(
        self, owner_id: uuid.UUID, cursor: str | None, limit: int, *, latest: bool = False
    ) -> ChangeSlice:
        """Up to ``limit`` changes after ``cursor`` (from the first without one); with
        ``latest``, none, and the position of the feed's end, to follow from now on."""
        check_limit(limit)
        position = decode_feed_cursor(cursor) if cursor is not None else _START
        async with self.ctx.db.for_user(owner_id, ends_request=True) as session:
            changes = ChangeRepository(session, owner_id)
            if latest:
                return ChangeSlice([], await changes.end())
            return await changes.after(position, limit)
