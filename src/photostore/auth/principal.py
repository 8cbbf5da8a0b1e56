"""Who a request acts as, and with which permissions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from photostore.auth.permissions import ADMIN_SCOPES, USER_SCOPES, Permission


class Role(StrEnum):
    ADMIN = "admin"
    USER = "user"


def scopes_of_role(role: Role) -> frozenset[Permission]:
    return ADMIN_SCOPES if role is Role.ADMIN else USER_SCOPES


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``user_id`` is the user whose data the request acts on; ``scopes`` are what the
    caller may do there. For a user's own token both follow from the account; an API
    key carries its own scopes.
    """

    user_id: uuid.UUID
    email: str
    role: Role
    scopes: frozenset[Permission] = field(default=frozenset())

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def can(self, permission: Permission) -> bool:
        return permission in self.scopes
