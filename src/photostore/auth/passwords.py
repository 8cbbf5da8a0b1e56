"""Password hashing with argon2id (OWASP's first choice for password storage).

The cost is a setting (``password_hash_memory_kib``, ``password_hash_time_cost``). The
default is RFC 9106's low-memory profile (64 MiB, three passes, four lanes); below
OWASP's floor (19 MiB and two passes) only a test configuration may go, where a suite
makes hundreds of accounts and the hash protects nothing. A stored hash names its own
parameters, so hashes made at one cost still verify after the setting changes.
"""

from __future__ import annotations

from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024

#: RFC 9106, section 4, second recommended option (argon2-cffi's default too).
DEFAULT_MEMORY_KIB: Final = 64 * 1024
DEFAULT_TIME_COST: Final = 3
PARALLELISM: Final = 4

#: OWASP's Password Storage Cheat Sheet minimum for argon2id: 19 MiB, two passes.
OWASP_MIN_MEMORY_KIB: Final = 19 * 1024
OWASP_MIN_TIME_COST: Final = 2

#: argon2 needs at least 8 KiB per lane.
MIN_MEMORY_KIB: Final = 8 * PARALLELISM


class Passwords:
    """Hashes and checks passwords at one argon2id cost; stateless after construction and
    safe to share between threads."""

    def __init__(
        self, memory_kib: int = DEFAULT_MEMORY_KIB, time_cost: int = DEFAULT_TIME_COST
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=PARALLELISM
        )
        # Hashed once at the same cost, so that a login for an unknown email costs as
        # much as one for a known email: the response time must not tell whether an
        # account exists.
        self._dummy_hash = self._hasher.hash("photostore-dummy-password")

    def hash(self, password: str) -> str:
        """The argon2id hash (PHC string, salt and parameters included) of ``password``."""
        return self._hasher.hash(password)

    def verify(self, password: str, password_hash: str | None) -> bool:
        """Whether ``password`` matches ``password_hash``; None checks against a dummy hash."""
        try:
            matched = self._hasher.verify(password_hash or self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None
