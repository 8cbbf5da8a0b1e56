"""API key strings: how they look, how they are made, parsed and hashed; the name of the
header a service key names the user it acts for in (read by ``api.deps``).

A key reads ``psk_<id>_<secret>``: ``psk_`` makes leaked keys easy to spot (secret
scanners, logs), ``<id>`` (32 hex digits) finds the row, ``<secret>`` is 256 random bits.
Only the sha256 of the secret is stored. A fast hash is right here, unlike for passwords:
a 256-bit random secret cannot be guessed however fast an attacker can hash, so a slow
hash (argon2) would add no protection and would cost every API request tens of
milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass

from photostore.errors import Unauthenticated

#: The header a service key's request names the user it acts for in (a user id).
ACTING_FOR_HEADER = "X-Photostore-User"

KEY_PREFIX = "psk_"
_FORMAT = re.compile(r"^psk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class KeyParts:
    key_id: uuid.UUID
    secret: str

    @property
    def prefix(self) -> str:
        """The public part, shown in lists: ``psk_<id>``."""
        return f"{KEY_PREFIX}{self.key_id.hex}"

    @property
    def token(self) -> str:
        return f"{self.prefix}_{self.secret}"


def new_key(key_id: uuid.UUID) -> KeyParts:
    return KeyParts(key_id=key_id, secret=secrets.token_urlsafe(32))


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def parse_key(token: str) -> KeyParts:
    match = _FORMAT.fullmatch(token)
    if match is None:
        raise Unauthenticated("the API key is not valid")
    return KeyParts(key_id=uuid.UUID(hex=match.group(1)), secret=match.group(2))


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def secret_matches(secret: str, stored: bytes) -> bool:
    """Constant-time comparison, so response times say nothing about the stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored)
