"""Bodies of the API key, audit, password and admin routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from photostore.auth.permissions import Permission
from photostore.domain.audit import AuditEntry
from photostore.domain.keys import ApiKey, ServiceKey
from photostore.services.admin import ServiceStats, UserPage
from photostore.services.audit import AuditPage
from photostore.text_rules import MAX_KEY_NAME_LENGTH


class ApiKeyCreate(BaseModel):
    # extra="forbid": owner_id, id, prefix, revoked_at... in a body are a 422, never applied.
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_KEY_NAME_LENGTH, examples=["gallery"])
    kind: Literal["user", "service"] = Field(
        default="user",
        description="Always 'user': service keys come from `photostore service-keys create` "
        "(403 here, for admins too).",
    )
    # Any permission name parses; the service refuses (422) those the key may not carry.
    scopes: list[Permission] = Field(default_factory=list, max_length=len(Permission))
    expires_at: AwareDatetime | None = None


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    kind: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            kind=key.kind,
            scopes=list(key.scopes),
            created_at=key.created_at,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself; shown once, never again.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


class ServiceKeyOut(BaseModel):
    """A service key as admins see it: never its secret."""

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    made_by: str = Field(
        description="'operator', or 'admin <id>' for a key an admin made before "
        "service keys came from the operator's command"
    )
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None = Field(description="'operator' or 'admin <id>'; None if active")

    @classmethod
    def of(cls, key: ServiceKey) -> ServiceKeyOut:
        revoked_by = None
        if key.revoked_at is not None:
            revoked_by = _who(key.revoked_by_admin_id)
        return cls(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=list(key.scopes),
            created_at=key.created_at,
            made_by=_who(key.made_by_admin_id),
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
            revoked_by=revoked_by,
        )


def _who(admin_id: uuid.UUID | None) -> str:
    return "operator" if admin_id is None else f"admin {admin_id}"


class ServiceKeyList(BaseModel):
    items: list[ServiceKeyOut]


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


class AuditEntryOut(BaseModel):
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

    @classmethod
    def of(cls, row: AuditEntry) -> AuditEntryOut:
        return cls(
            id=row.id,
            at=row.at,
            principal_id=row.principal_id,
            principal_kind=row.principal_kind,
            key_id=row.key_id,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            result=row.result,
            request_id=row.request_id,
        )


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: AuditPage) -> AuditPageOut:
        return cls(items=[AuditEntryOut.of(r) for r in page.items], next_cursor=page.next_cursor)


class AccountOut(BaseModel):
    """An account as admins see it: no photo data."""

    id: uuid.UUID
    email: str
    role: str
    created_at: datetime


class AccountPage(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: UserPage) -> AccountPage:
        return cls(
            items=[
                AccountOut(id=u.id, email=u.email, role=u.role, created_at=u.created_at)
                for u in page.items
            ],
            next_cursor=page.next_cursor,
        )


class StatsOut(BaseModel):
    users: int
    admins: int
    images: int
    image_bytes: int

    @classmethod
    def of(cls, stats: ServiceStats) -> StatsOut:
        return cls(
            users=stats.users,
            admins=stats.admins,
            images=stats.images,
            image_bytes=stats.image_bytes,
        )
