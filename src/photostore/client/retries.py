"""When a client tries a request again, and how long it waits first.

A 429 or a 503 means the server did not do the work (too many attempts, a dependency
down, every slot busy) and says, in ``Retry-After``, when the same request may succeed;
any method is tried again then. A failed connection or a timeout may have reached the
server, so only an idempotent method (GET, PUT, DELETE) is tried again after one. An
upload whose file cannot be read again (a pipe) is never tried again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRIED_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class Retries:
    """How many times a request is sent at most, and the waits between.

    ``attempts`` counts the first: 1 never retries. The wait is the server's
    ``Retry-After`` when it sent one, cut to ``max_retry_after``; else an exponential
    backoff from ``backoff`` seconds, doubled each time up to ``max_backoff``, of which a
    random half is waited (so clients that failed together do not retry together).
    """

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts counts the first try: at least 1")

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after the ``attempt``-th try (1 for the first) failed."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        # Jitter spreads retries, it guards nothing: no secure random number needed.
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: delay-seconds or an HTTP date (RFC 9110); None when
    absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
