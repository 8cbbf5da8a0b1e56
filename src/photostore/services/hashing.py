"""Password hashing for services: how many hashes (and checks) one process computes at
once, at the cost the settings give.

An argon2id hash takes 64 MiB and tens of milliseconds of every core it gets; 30
anonymous logins at once added about 900 MB to a process and took another user's file
read from 12 ms to 2.7 s, sharing its worker threads. Hashes run in slots of their own
(``services.slots``): a few at once, a short wait, then 503 ``password-checks-busy``
with ``Retry-After``. A refused login is not counted as a failed one (``api.users``).
"""

from __future__ import annotations

from typing import Final

from photostore.auth.passwords import Passwords
from photostore.errors import PasswordChecksBusy
from photostore.services.slots import Slots

#: Seconds a refused login is asked to wait: a hash takes 50-200 ms.
RETRY_AFTER_SECONDS: Final = 1


def _busy(total: int) -> PasswordChecksBusy:
    return PasswordChecksBusy(
        f"{total} passwords are being checked already; retry in {RETRY_AFTER_SECONDS} second",
        retry_after=RETRY_AFTER_SECONDS,
    )


class PasswordHashing(Slots):
    """Hashes and checks passwords with ``passwords``, at most ``total`` at once; a caller
    waits up to ``wait_seconds`` for a slot."""

    def __init__(self, passwords: Passwords, total: int, wait_seconds: float) -> None:
        super().__init__(total, wait_seconds, _busy)
        self._passwords = passwords

    async def hash(self, password: str) -> str:
        """The stored form of ``password`` (``Passwords.hash``), computed in a slot."""
        return await self.run(self._passwords.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Whether ``password`` matches (``Passwords.verify``), checked in a slot."""
        return await self.run(self._passwords.verify, password, password_hash)
