"""Who a request acts as, and with which permissions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from photostore.auth.permissions import ADMIN_SCOPES, USER_SCOPES, Permission


class Role(StrEnum):
    ADMIN = "admin"
    USER = "user"


class PrincipalKind(StrEnum):
    """Who is acting, as the audit log records it."""

    USER = "user"
    SERVICE = "service"
    ADMIN = "admin"


def scopes_of_role(role: Role) -> frozenset[Permission]:
    return ADMIN_SCOPES if role is Role.ADMIN else USER_SCOPES


def kind_of_role(role: Role) -> PrincipalKind:
    """How the audit log names an account acting for itself (with a token or its own key)."""
    return PrincipalKind.ADMIN if role is Role.ADMIN else PrincipalKind.USER


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``user_id`` is the user whose data the request acts on; ``scopes`` are what the
    caller may do there. For a user's own token both follow from the account; an API
    key carries its own scopes.
    """

    user_id: uuid.UUID
    role: Role
    scopes: frozenset[Permission] = field(default=frozenset())
    kind: PrincipalKind = PrincipalKind.USER
    actor_id: uuid.UUID | None = None
    """Who acts: the user, or the service key; None means ``user_id`` itself."""
    key_id: uuid.UUID | None = None
    """The API key the request authenticated with, if any."""

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def acting_id(self) -> uuid.UUID:
        return self.actor_id if self.actor_id is not None else self.user_id

    def can(self, permission: Permission) -> bool:
        return permission in self.scopes


def principal_of_account(user_id: uuid.UUID, role: Role) -> Principal:
    """An account acting for itself (with an access token)."""
    return Principal(
        user_id=user_id, role=role, scopes=scopes_of_role(role), kind=kind_of_role(role)
    )
