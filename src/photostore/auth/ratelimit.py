"""Login rate limiting: failed attempts per email and per client address, in process.

An attempt is counted as failed when it begins, before its password is checked (the
check takes a hash's time, and 30 guesses sent at once were all checked when failures
were counted after it); one that succeeds is then taken back, one that was never
checked (a busy hasher, the database down) withdrawn. So a user who types the right
password is not locked out by their own successes, and no more passwords are checked in
a window than the limit, however many arrive at once. Limiting per email stops guessing
one account's password from many addresses, per address stops one client from trying
many accounts. The address is the TCP peer unless trusted proxies are configured
(``PHOTOSTORE_TRUSTED_PROXIES``): a header is only believed from them.
Every email is limited alike, known or not, so a 429 says nothing about whether an
account exists. One limiter lives on the service context (``services.context``, one per
application, never module-global); with several API processes each counts its own
attempts (the documented limit is per process). ``services.logins`` applies it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from photostore.errors import RateLimited

_MAX_TRACKED = 100_000  # keys; bounds memory under a spray of distinct emails


class _Window:
    """Failure times per key within a sliding window."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str, now: float) -> int | None:
        times = self.failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self.failures[key]
            return None
        if len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window - now))

    def add(self, key: str, now: float) -> None:
        if key not in self.failures and len(self.failures) >= _MAX_TRACKED:
            self.failures.pop(next(iter(self.failures)))
        self.failures.setdefault(key, deque()).append(now)

    def take_back(self, key: str, at: float) -> None:
        """Forget the failure ``add(key, at)`` counted, if it is still counted."""
        times = self.failures.get(key)
        if times is not None and at in times:
            times.remove(at)

    def clear(self, key: str) -> None:
        self.failures.pop(key, None)


@dataclass(frozen=True)
class Attempt:
    """A login attempt counted as failed until :class:`LoginLimiter` hears otherwise."""

    email: str
    address: str
    at: float


class LoginLimiter:
    """Refuses logins (429 + Retry-After) after too many failures in a window."""

    def __init__(
        self,
        per_email: int,
        per_address: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emails = _Window(per_email, window_seconds)
        self._addresses = _Window(per_address, window_seconds)
        self._clock = clock

    def begin(self, email: str, address: str) -> Attempt:
        """Count an attempt for ``email`` from ``address`` as failed, before its password
        is checked; :class:`RateLimited` (and nothing counted) if either is at its limit.

        Nothing awaits between the check and the count: concurrent attempts of one event
        loop are counted one by one, and no more than the limit get through.
        """
        self.check(email, address)
        now = self._clock()
        self.failed(email, address, now)
        return Attempt(email, address, now)

    def withdraw(self, attempt: Attempt) -> None:
        """``attempt``'s password was never checked: it does not count."""
        self._emails.take_back(attempt.email, attempt.at)
        self._addresses.take_back(attempt.address, attempt.at)

    def check(self, email: str, address: str) -> None:
        """Raise :class:`RateLimited` if either the email or the address is over its limit."""
        now = self._clock()
        waits = [
            w
            for w in (
                self._emails.retry_after(email, now),
                self._addresses.retry_after(address, now),
            )
            if w is not None
        ]
        if waits:
            raise RateLimited("too many failed logins; try again later", retry_after=max(waits))

    def failed(self, email: str, address: str, now: float | None = None) -> None:
        now = self._clock() if now is None else now
        self._emails.add(email, now)
        self._addresses.add(address, now)

    def succeeded(self, attempt: Attempt) -> None:
        """A correct password clears the email's failures, and takes back the attempt's
        count at its address (not the address's other failures)."""
        self._emails.clear(attempt.email)
        self._addresses.take_back(attempt.address, attempt.at)
