"""Permissions (scopes) and which principals hold them.

Every route declares the one permission it needs (``api.deps.require``); a route that
declares none is refused by a test that calls every route with a principal holding no
permission at all. Users hold the user scopes over their own data; admins hold only the
admin scopes (they manage accounts and service keys and see service-wide figures, never
photos); API keys hold the scopes they were created with.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    IMAGES_READ = "images:read"
    IMAGES_WRITE = "images:write"
    ANALYSIS_WRITE = "analysis:write"
    FACES_WRITE = "faces:write"
    LIBRARY_WRITE = "library:write"
    SEARCH_READ = "search:read"
    ACCOUNT = "account"
    ADMIN_USERS = "admin:users"
    ADMIN_STATS = "admin:stats"
    ADMIN_SERVICE_KEYS = "admin:service-keys"


USER_SCOPES: frozenset[Permission] = frozenset(
    {
        Permission.IMAGES_READ,
        Permission.IMAGES_WRITE,
        Permission.ANALYSIS_WRITE,
        Permission.FACES_WRITE,
        Permission.LIBRARY_WRITE,
        Permission.SEARCH_READ,
        Permission.ACCOUNT,
    }
)
ADMIN_SCOPES: frozenset[Permission] = frozenset(
    {
        Permission.ADMIN_USERS,
        Permission.ADMIN_STATS,
        Permission.ADMIN_SERVICE_KEYS,
        Permission.ACCOUNT,
    }
)
"""What an admin's login holds: no data scope, so no route reads or changes a photo for
an admin, whoever ``X-Photostore-User`` names. Admins see and revoke service keys
(``admin:service-keys``) but cannot make one: that takes the operator's command."""
KEY_SCOPES: frozenset[Permission] = USER_SCOPES - {Permission.ACCOUNT}
"""What an API key may carry: data scopes only. Managing the account (keys, password,
deletion) needs a login, so a leaked key cannot mint more keys or lock its owner out.
Service keys draw from the same set and act for the user each request names."""
