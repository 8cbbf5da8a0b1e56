"""The login limiter on its own, with an injected clock."""

from __future__ import annotations

import pytest

from photostore.auth.ratelimit import LoginLimiter
from photostore.errors import RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_past_the_limit_are_refused_until_the_window_passes() -> None:
    clock = Clock()
    limiter = LoginLimiter(per_email=3, per_address=100, window_seconds=60, clock=clock)
    for _ in range(3):
        limiter.check("a@x", "1.2.3.4")
        limiter.failed("a@x", "1.2.3.4")
        clock.now += 1
    with pytest.raises(RateLimited) as refused:
        limiter.check("a@x", "1.2.3.4")
    assert refused.value.retry_after == 57
    limiter.check("b@x", "1.2.3.4")  # another email from the same address
    clock.now += 57
    limiter.check("a@x", "1.2.3.4")


def test_the_address_limit_covers_many_emails() -> None:
    limiter = LoginLimiter(per_email=100, per_address=2, window_seconds=60, clock=Clock())
    limiter.failed("a@x", "9.9.9.9")
    limiter.failed("b@x", "9.9.9.9")
    with pytest.raises(RateLimited):
        limiter.check("c@x", "9.9.9.9")
    limiter.check("c@x", "8.8.8.8")


def test_a_success_clears_the_emails_failures() -> None:
    limiter = LoginLimiter(per_email=2, per_address=100, window_seconds=60, clock=Clock())
    limiter.failed("a@x", "1.1.1.1")
    limiter.succeeded(limiter.begin("a@x", "1.1.1.1"))
    limiter.failed("a@x", "1.1.1.1")
    limiter.check("a@x", "1.1.1.1")


def test_an_attempt_counts_as_failed_from_its_beginning() -> None:
    limiter = LoginLimiter(per_email=3, per_address=100, window_seconds=60, clock=Clock())
    # Three guesses under way at once, none checked yet: a fourth is refused already.
    for _ in range(3):
        limiter.begin("a@x", "1.2.3.4")
    with pytest.raises(RateLimited):
        limiter.begin("a@x", "1.2.3.4")


def test_an_attempt_never_checked_is_withdrawn_and_a_success_frees_its_address() -> None:
    limiter = LoginLimiter(per_email=2, per_address=2, window_seconds=60, clock=Clock())
    limiter.withdraw(limiter.begin("a@x", "1.2.3.4"))  # a busy hasher: never checked
    limiter.succeeded(limiter.begin("a@x", "1.2.3.4"))
    limiter.succeeded(limiter.begin("b@x", "1.2.3.4"))
    limiter.begin("c@x", "1.2.3.4")
    limiter.begin("d@x", "1.2.3.4")  # two failures from the address: its limit
    with pytest.raises(RateLimited):
        limiter.begin("e@x", "1.2.3.4")
