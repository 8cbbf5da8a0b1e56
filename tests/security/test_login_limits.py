"""The login limits hold against a real ``photostore serve``: a forwarded-for header is
believed only from a configured proxy, guesses sent at once are counted before they are
checked, and the current password of a password change is limited alike."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
from bench.serving import photostore_serve

from photostore.auth.passwords import DEFAULT_MEMORY_KIB, DEFAULT_TIME_COST, MIN_MEMORY_KIB
from tests.conftest import ScratchDatabase

pytestmark = pytest.mark.slow  # each test starts `photostore serve`

Serve = Callable[[dict[str, str]], AbstractContextManager[str]]

# The cheapest hashes, as in the rest of the suite: the limits count attempts, whatever
# a check costs (a serve at the production cost hashes 0.3 s a guess on two cores).
CHEAP_HASHES = {
    "environment": "test",
    "password_hash_memory_kib": str(MIN_MEMORY_KIB),
    "password_hash_time_cost": "1",
}


@pytest.fixture
def serve(database: ScratchDatabase, tmp_path: Path) -> Serve:
    @contextmanager
    def start(settings: dict[str, str]) -> Iterator[str]:
        base = {
            "allow_signup": "true",
            "migration_database_url": database.owner_url,
            **CHEAP_HASHES,
        }
        data = tmp_path / f"data-{uuid.uuid4().hex[:8]}"
        with photostore_serve(data, {**base, **settings}, database.app_url) as url:
            yield url

    return start


def _guess(base: str, email: str, forwarded_for: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    form = {"username": email, "password": "a wrong guess"}
    return httpx.post(f"{base}/v1/auth/token", data=form, headers=headers).status_code


def test_a_forwarded_for_header_does_not_reset_the_address_limit(serve: Serve) -> None:
    with serve({"login_max_failures_per_address": "3"}) as base:
        statuses = [_guess(base, f"u{n}@example.org", f"203.0.113.{n}") for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_a_trusted_proxy_names_the_client_address(serve: Serve) -> None:
    settings = {"login_max_failures_per_address": "3", "trusted_proxies": "127.0.0.1"}
    with serve(settings) as base:
        spread = [_guess(base, f"u{n}@example.org", f"203.0.113.{n}") for n in range(5)]
        one = [_guess(base, f"v{n}@example.org", "198.51.100.7") for n in range(4)]
    assert spread == [401] * 5
    assert one == [401, 401, 401, 429]


def test_guesses_sent_at_once_are_counted_before_they_are_checked(serve: Serve) -> None:
    settings = {
        "login_max_failures": "10",
        "max_concurrent_password_hashes": "4",
        "password_hash_wait_seconds": "60",
        # At the production cost the checks overlap, so a program that checked a guess
        # before counting it lets more than ten through; cheap checks could hide that.
        "password_hash_memory_kib": str(DEFAULT_MEMORY_KIB),
        "password_hash_time_cost": str(DEFAULT_TIME_COST),
    }
    with serve(settings) as base:
        email, password = "target@example.org", "the right one"
        created = httpx.post(f"{base}/v1/users", json={"email": email, "password": password})
        assert created.status_code == 202, created.text  # open sign-up
        guesses = [f"wrong {n}" for n in range(29)] + [password]

        def login(guess: str) -> int:
            form = {"username": email, "password": guess}
            return httpx.post(f"{base}/v1/auth/token", data=form, timeout=120).status_code

        with ThreadPoolExecutor(max_workers=30) as pool:
            statuses = list(pool.map(login, guesses))
    checked = [s for s in statuses if s != 429]
    assert len(checked) <= 10, f"{len(checked)} of 30 guesses were checked: {statuses}"
    assert statuses.count(429) >= 20


def test_the_current_password_of_a_change_is_limited_like_a_login(serve: Serve) -> None:
    with serve({"login_max_failures": "3"}) as base:
        email, password = "changer@example.org", "the right one"
        assert httpx.post(f"{base}/v1/users", json={"email": email, "password": password})
        token = httpx.post(f"{base}/v1/auth/token", data={"username": email, "password": password})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

        def change(current: str) -> httpx.Response:
            body = {"current_password": current, "new_password": "a new password"}
            return httpx.post(f"{base}/v1/users/me/password", json=body, headers=headers)

        statuses = [change(f"guess {n}").status_code for n in range(3)]
        refused = change(password)
    assert statuses == [403, 403, 403]
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) > 0
