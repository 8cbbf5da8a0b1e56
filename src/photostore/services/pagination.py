"""Opaque keyset cursors: a page ends at a (sort key, id) pair, never at an OFFSET."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime

from photostore.errors import BadRequest, InvalidInput

#: The most rows one page of a list holds (a caller's ``limit``), for every list.
MAX_PAGE_SIZE = 500


def check_limit(limit: int, maximum: int = MAX_PAGE_SIZE) -> None:
    """Refuse a page size outside 1..``maximum``, with the bounds in the message."""
    if not 1 <= limit <= maximum:
        raise InvalidInput(f"limit must be between 1 and {maximum}")


def encode_cursor(sort_key: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([sort_key.isoformat(), str(row_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The (sort key, id) a cursor holds; a cursor that was not ours is a 400."""
    invalid = BadRequest("the cursor is not valid; start again without one")
    try:
        sort_key, row_id = _cursor_values(cursor)
        if not isinstance(sort_key, str) or not isinstance(row_id, str):
            raise invalid
        parsed = datetime.fromisoformat(sort_key)
        parsed_id = uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
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
        marker, sort_key, row_id = _cursor_values(cursor)
        if marker != "t" or not isinstance(sort_key, str) or not isinstance(row_id, str):
            raise invalid
        parsed_id = uuid.UUID(row_id)
    except (ValueError, TypeError) as exc:
        raise invalid from exc
    return sort_key, parsed_id


def decode_cursor_json(cursor: str) -> object:
    """The JSON value a cursor of ours encodes; ValueError for anything else.

    Any string can arrive as a cursor, so only what our cursors hold is read: strings,
    integers, lists and objects. No cursor holds a fraction, so no float is read, nor
    ``NaN`` or ``Infinity``, which Python's reader accepts (``1e309`` is an infinity
    too, and ``int()`` of one raises OverflowError). Every failure is one ValueError,
    for the caller to turn into a 400.
    """
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        return json.loads(raw, parse_float=_refuse_number, parse_constant=_refuse_number)
    except (ValueError, RecursionError) as exc:  # binascii.Error, UnicodeDecodeError
        raise ValueError("not a cursor of ours") from exc


def _refuse_number(text: str) -> object:
    raise ValueError(f"{text} is not a cursor value")


def _cursor_values(cursor: str) -> list[object]:
    """The list a list cursor holds; ValueError or TypeError when it holds anything else."""
    values = decode_cursor_json(cursor)
    if not isinstance(values, list):
        raise TypeError("a cursor holds a list")
    return values
