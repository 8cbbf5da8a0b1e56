"""Password slots: how many password hashes (and checks) one process computes at once.

An argon2id hash takes 64 MiB and tens of milliseconds of every core it gets; 30
anonymous logins at once added about 900 MB to a process and took another user's file
read from 12 ms to 2.7 s, sharing its worker threads. Hashes run in slots of their own
(``services.slots``): a few at once, a short wait, then 503 ``password-checks-busy``
with ``Retry-After``. A refused login is not counted as a failed one (``api.users``).
"""

from __future__ import annotations

from typing import Final

from photostore.errors import PasswordChecksBusy
from photostore.services.slots import Slots

#: Seconds a refused login is asked to wait: a hash takes 50-200 ms.
RETRY_AFTER_SECONDS: Final = 1


def _busy(total: int) -> PasswordChecksBusy:
    return PasswordChecksBusy(
        f"{total} passwords are being checked already; retry in {RETRY_AFTER_SECONDS} second",
        retry_after=RETRY_AFTER_SECONDS,
    )


class PasswordSlots(Slots):
    """At most ``total`` password hashes at once; a caller waits up to ``wait_seconds``."""

    def __init__(self, total: int, wait_seconds: float) -> None:
        super().__init__(total, wait_seconds, _busy)
