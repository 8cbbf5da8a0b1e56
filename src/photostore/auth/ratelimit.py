"""Login rate limiting: failed attempts per email and per client address, in process.

Counting failures (not attempts) keeps a user who types the right password from being
locked out by their own successes; limiting per email stops guessing one account's
password from many addresses, per address stops one client from trying many accounts.
Every email is limited alike, known or not, so a 429 says nothing about whether an
account exists. One limiter lives on ``app.state``; with several API processes each
counts its own attempts (the documented limit is per process).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

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

    def clear(self, key: str) -> None:
        self.failures.pop(key, None)


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

    def failed(self, email: str, address: str) -> None:
        now = self._clock()
        self._emails.add(email, now)
        self._addresses.add(address, now)

    def succeeded(self, email: str) -> None:
        """A correct password clears the email's failures (not the address's)."""
        self._emails.clear(email)
