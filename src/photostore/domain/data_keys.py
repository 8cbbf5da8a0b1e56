"""A user's data key as the database holds it: wrapped under a master key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WrappedDataKey:
    """The data key ``id`` of ``owner_id``, encrypted under the master key ``master_key_id``."""

    owner_id: uuid.UUID
    id: uuid.UUID
    wrapped_key: bytes
    master_key_id: str
