"""API keys of users and service keys of other services: only the sha256 of a key's
secret is stored, and no value here but :class:`NewKey` and :class:`PresentedKey`
carries it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

#: The kinds of key a request may present.
USER_KEY = "user"
SERVICE_KEY = "service"


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key to store: the id and prefix of its token (``auth.apikeys.new_key``), the
    sha256 of its secret, its scopes (sorted names) and when it expires (None: never)."""

    id: uuid.UUID
    name: str
    prefix: str
    secret_sha256: bytes
    scopes: tuple[str, ...]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A user's API key: it acts on its owner's data (``kind`` is always ``user``)."""

    id: uuid.UUID
    name: str
    prefix: str
    kind: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ServiceKey:
    """A key of another service: it acts for the user each request names, and belongs to
    no account. ``made_by_admin_id`` is the admin who made it, for keys made before they
    came from the operator's command; ``revoked_by_admin_id`` the admin who revoked it,
    None when the operator's command did."""

    id: uuid.UUID
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    made_by_admin_id: uuid.UUID | None
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by_admin_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class PresentedKey:
    """A key of either kind as a request presents it, with its owner's account (None for
    a service key, and for a user key whose owner is gone)."""

    id: uuid.UUID
    secret_sha256: bytes
    kind: str
    scopes: tuple[str, ...]
    revoked_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None
    owner_id: uuid.UUID | None
    owner_email: str | None
    owner_role: str | None
