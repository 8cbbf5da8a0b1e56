"""The change feed: what changed in a user's library, in an order a cursor can follow."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedPosition:
    """A place in the feed: after every change of a transaction before ``xid``, and after
    the changes of ``xid`` itself up to ``change_id``."""

    xid: int
    change_id: int


@dataclass(frozen=True, slots=True)
class Change:
    """One change: ``kind`` is ``image.created``, ``image.updated``, ``image.trashed``,
    ``image.restored``, ``image.purged``, ``analysis.written`` (``detail``: the analyzer),
    ``faces.written``, ``embedding.written`` or ``embedding.deleted`` (``detail``: the
    space)."""

    position: FeedPosition
    kind: str
    image_id: uuid.UUID
    detail: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ChangeSlice:
    """Changes after a position, in feed order, and the position after the last of them
    (the position asked for when there are none)."""

    changes: list[Change]
    end: FeedPosition
