"""Password hashes: argon2id at the cost the settings give, never below OWASP's floor
outside a test run, and hashes made at one cost still verify at another."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from photostore.auth.passwords import MIN_MEMORY_KIB, Passwords
from photostore.config import Settings


def test_passwords_hash_with_argon2id_at_the_given_cost_and_verify() -> None:
    passwords = Passwords(memory_kib=MIN_MEMORY_KIB, time_cost=1)
    hashed = passwords.hash("correct horse")
    assert hashed.startswith(f"$argon2id$v=19$m={MIN_MEMORY_KIB},t=1,p=4$")
    assert passwords.verify("correct horse", hashed)
    assert not passwords.verify("wrong horse", hashed)
    assert not passwords.verify("correct horse", None)
    assert not passwords.verify("correct horse", "not-a-hash")


def test_the_default_cost_is_rfc_9106s_low_memory_profile() -> None:
    assert Passwords().hash("correct horse").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_hash_made_at_one_cost_verifies_at_another() -> None:
    # A stored hash names its parameters: changing the setting strands no account.
    old = Passwords().hash("correct horse")
    assert Passwords(memory_kib=MIN_MEMORY_KIB, time_cost=1).verify("correct horse", old)


@pytest.mark.parametrize("environment", ["production", "development"])
@pytest.mark.parametrize(
    "cost",
    [{"password_hash_memory_kib": 19 * 1024 - 1}, {"password_hash_time_cost": 1}],
    ids=["memory", "passes"],
)
def test_hashes_below_owasps_floor_are_refused_outside_tests(
    environment: str, cost: dict[str, int]
) -> None:
    with pytest.raises(ValidationError, match="for test runs only"):
        Settings(environment=environment, **cost)  # type: ignore[arg-type]
    assert Settings(environment="test", **cost).environment == "test"  # type: ignore[arg-type]
    at_floor = {"password_hash_memory_kib": 19 * 1024, "password_hash_time_cost": 2}
    assert Settings(environment=environment, **at_floor).password_hash_time_cost == 2  # type: ignore[arg-type]
