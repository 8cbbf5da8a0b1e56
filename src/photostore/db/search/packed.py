"""Id lists as one ``bytea`` of 16-byte ids, which numpy reads as an ``S16`` array without
a Python object per row."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, LargeBinary, func, literal
from sqlalchemy.sql.elements import SQLCoreOperations


def packed_uuids(column: SQLCoreOperations[uuid.UUID]) -> ColumnElement[bytes]:
    """An aggregate of ``column`` as one ``bytea`` of 16-byte ids, in no order."""
    return func.string_agg(func.uuid_send(column), literal(b"", LargeBinary))


def uuid_of(raw: bytes) -> uuid.UUID:
    """An id of an ``S16`` array (numpy drops its trailing zero bytes) as a UUID."""
    return uuid.UUID(bytes=bytes(raw).ljust(16, b"\0"))
