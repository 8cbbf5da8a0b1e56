"""API keys: shown once, stored hashed, scoped, expiring, revocable; service keys act for
the user each request names, with data scopes only."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from photostore.errors import InvalidInput
from photostore.services.service_keys import ServiceKeyService, parse_scopes
from tests import imagegen
from tests.conftest import Account, ScratchDatabase, upload
from tests.security.conftest import DATA_SCOPES, bearer, create_key, make_service_key


def test_a_key_is_shown_once_and_stored_as_a_sha256(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    key_id, secret = create_key(client, alice, ["images:read"])
    assert re.fullmatch(rf"psk_{key_id.hex}_[A-Za-z0-9_-]{{43}}", secret)
    listed = client.get("/v1/api-keys", headers=alice.headers).json()["items"]
    assert [k["id"] for k in listed] == [str(key_id)]
    assert secret not in str(listed) and "key" not in listed[0]
    with database.superuser_connect() as conn:
        stored = conn.execute("SELECT secret_sha256 FROM api_keys").fetchone()
    assert stored is not None
    assert bytes(stored[0]) == hashlib.sha256(secret.split("_", 2)[2].encode()).digest()


def test_a_key_does_what_its_scopes_allow_and_records_its_use(
    client: TestClient, alice: Account
) -> None:
    _, reader = create_key(client, alice, ["images:read"])
    assert client.get("/v1/images", headers=bearer(reader)).status_code == 200
    write = client.post(
        "/v1/images",
        files={"file": ("p.png", imagegen.make_png(None, 4, 4, seed=3))},
        headers=bearer(reader),
    )
    assert write.status_code == 403
    assert client.get("/v1/users/me", headers=bearer(reader)).status_code == 403
    assert (
        client.post("/v1/api-keys", json={"name": "x"}, headers=bearer(reader)).status_code == 403
    )
    used = client.get("/v1/api-keys", headers=alice.headers).json()["items"][0]
    assert used["last_used_at"] is not None


def test_revoked_expired_and_wrong_keys_are_401(client: TestClient, alice: Account) -> None:
    key_id, secret = create_key(client, alice, ["images:read"])
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    past_due = client.post(
        "/v1/api-keys", json={"name": "e", "scopes": [], "expires_at": soon}, headers=alice.headers
    )
    assert past_due.status_code == 201
    assert client.delete(f"/v1/api-keys/{key_id}", headers=alice.headers).status_code == 204
    wrong_secret = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    for presented in (secret, wrong_secret, f"psk_{uuid.uuid4().hex}_{'A' * 43}", "psk_short"):
        assert client.get("/v1/images", headers=bearer(presented)).status_code == 401
    import time

    time.sleep(1.1)
    expired = client.get("/v1/images", headers=bearer(past_due.json()["key"]))
    assert expired.status_code == 401
    assert expired.json()["detail"] == "the API key has expired"


def test_a_service_key_acts_for_the_named_user_only(
    client: TestClient,
    alice: Account,
    bob: Account,
    admin: Account,
    service_headers: Callable[[Account], dict[str, str]],
) -> None:
    upload(client, alice, imagegen.make_png(None, 4, 4, seed=1))
    as_alice = client.get("/v1/images", headers=service_headers(alice)).json()["items"]
    as_bob = client.get("/v1/images", headers=service_headers(bob)).json()["items"]
    assert len(as_alice) == 1 and as_bob == []
    headers = service_headers(alice)
    missing = {k: v for k, v in headers.items() if k != "X-Photostore-User"}
    cases = {
        "missing header": (missing, 400),
        "not a uuid": ({**headers, "X-Photostore-User": "alice"}, 400),
        "unknown user": ({**headers, "X-Photostore-User": str(uuid.uuid4())}, 401),
        "an admin": ({**headers, "X-Photostore-User": str(admin.id)}, 401),
    }
    for name, (sent, status) in cases.items():
        assert client.get("/v1/images", headers=sent).status_code == status, name
    # A user key may not name anyone else.
    _, own = create_key(client, alice, ["images:read"])
    other = {**bearer(own), "X-Photostore-User": str(bob.id)}
    assert client.get("/v1/images", headers=other).status_code == 400


def test_a_service_key_carries_data_scopes_only(client: TestClient, alice: Account) -> None:
    secret = make_service_key(client, DATA_SCOPES)
    for_alice = {**bearer(secret), "X-Photostore-User": str(alice.id)}
    assert client.get("/v1/users/me", headers=for_alice).status_code == 403
    assert client.get("/v1/admin/users", headers=for_alice).status_code == 403
    assert client.get("/v1/admin/service-keys", headers=for_alice).status_code == 403
    service = ServiceKeyService(client.app.state.ctx)  # type: ignore[attr-defined]
    assert client.portal is not None
    for scopes in (["admin:users"], ["account"], []):
        with pytest.raises(InvalidInput):
            client.portal.call(service.create, "s", parse_scopes(scopes), None)


def test_last_used_at_is_written_at_most_once_a_minute(
    client: TestClient, alice: Account, database: ScratchDatabase
) -> None:
    key_id, secret = create_key(client, alice, ["images:read"])

    def last_used() -> datetime:
        with database.superuser_connect() as conn:
            row = conn.execute("SELECT last_used_at FROM api_keys WHERE id = %s", (key_id,))
            value = row.fetchone()
        assert value is not None and isinstance(value[0], datetime)
        return value[0]

    def set_last_used(moment: datetime) -> None:
        with database.superuser_connect() as conn:
            conn.execute("UPDATE api_keys SET last_used_at = %s WHERE id = %s", (moment, key_id))

    assert client.get("/v1/images", headers=bearer(secret)).status_code == 200
    first = last_used()
    assert abs(datetime.now(UTC) - first) < timedelta(seconds=30)
    recent = first - timedelta(seconds=30)
    set_last_used(recent)
    assert client.get("/v1/images", headers=bearer(secret)).status_code == 200
    assert last_used() == recent  # within the minute: not written again
    stale = first - timedelta(minutes=2)
    set_last_used(stale)
    assert client.get("/v1/images", headers=bearer(secret)).status_code == 200
    assert last_used() > first - timedelta(seconds=1)
