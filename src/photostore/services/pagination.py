"""Opaque keyset cursors: a page ends at a (sort key, id) pair, never at an OFFSET."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from photostore.errors import BadRequest


def encode_cursor(sort_key: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([sort_key.isoformat(), str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (sort key, id) a cursor holds; a cursor that was not ours is a 400."""
    invalid = BadRequest("the cursor is not valid; start again without one")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_key, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        parsed = datetime.fromisoformat(sort_key)
        parsed_id = uuid.UUID(row_id)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise invalid from exc
    if parsed.tzinfo is None:
        raise invalid
    return parsed, parsed_id


def encode_text_cursor(sort_key: str, row_id: uuid.UUID) -> str:
    """A cursor for lists sorted by a text key (a name), then by id."""
    raw = json.dumps(["t", sort_key, str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_text_cursor(cursor: str) -> tuple[str, uuid.UUID]:
    """The (text key, id) a text cursor holds; any other cursor is a 400."""
    invalid = BadRequest("the cursor is not valid; start again without one")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        marker, sort_key, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        parsed_id = uuid.UUID(row_id)
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise invalid from exc
    if marker != "t" or not isinstance(sort_key, str):
        raise invalid
    return sort_key, parsed_id
