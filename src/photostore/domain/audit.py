"""The audit log: one entry per operation, in the trail of the user acted for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited operation: who (principal id and kind, API key id), what (method and
    route template), on what (the target's type and id from the path), the HTTP status
    and the request id."""

    id: uuid.UUID
    at: datetime
    principal_id: uuid.UUID
    principal_kind: str
    key_id: uuid.UUID | None
    action: str
    target_type: str | None
    target_id: str | None
    result: int
    request_id: str | None
