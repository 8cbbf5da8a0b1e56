"""Mass assignment: fields a caller may not set are refused (422), never applied."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from tests import imagegen
from tests.conftest import Account, upload

PRIVILEGED = {
    "owner_id": str(uuid.uuid4()),
    "id": str(uuid.uuid4()),
    "role": "admin",
    "token_version": 99,
    "sha256": "0" * 64,
    "byte_size": 1,
    "prefix": "psk_x",
    "revoked_at": None,
}


@pytest.mark.parametrize("field", sorted(PRIVILEGED))
def test_privileged_fields_in_bodies_are_422(
    client: TestClient, alice: Account, field: str
) -> None:
    image_id = upload(client, alice, imagegen.make_png(None, 8, 8)).json()["id"]
    extra = {field: PRIVILEGED[field]}
    attempts = {
        "PATCH image": client.patch(
            f"/v1/images/{image_id}", json={"description": "x", **extra}, headers=alice.headers
        ),
        "POST api key": client.post(
            "/v1/api-keys", json={"name": "k", "scopes": [], **extra}, headers=alice.headers
        ),
        "POST password": client.post(
            "/v1/users/me/password",
            json={"current_password": alice.password, "new_password": "new password", **extra},
            headers=alice.headers,
        ),
    }
    for name, response in attempts.items():
        assert response.status_code == 422, (name, response.text)
        assert response.json()["type"].endswith("/invalid-input")
    # Nothing was applied.
    image = client.get(f"/v1/images/{image_id}", headers=alice.headers).json()
    assert image["id"] == image_id and image["description"] is None
    assert client.get("/v1/api-keys", headers=alice.headers).json()["items"] == []
    assert client.get("/v1/users/me", headers=alice.headers).status_code == 200


def test_signing_up_as_admin_or_with_an_id_is_refused(client: TestClient) -> None:
    with_id = client.post(
        "/v1/users",
        json={"email": "eve@example.org", "password": "eve password", "id": str(uuid.uuid4())},
    )
    assert with_id.status_code == 422
    as_admin = client.post(
        "/v1/users", json={"email": "eve@example.org", "password": "eve password", "role": "admin"}
    )
    assert as_admin.status_code == 403


@pytest.mark.parametrize(
    ("kind", "scopes"),
    [
        ("user", ["account"]),
        ("user", ["admin:users"]),
        ("user", ["admin:stats"]),
        ("user", ["no-such-scope"]),
        ("service", ["images:read"]),  # no account makes service keys (403)
    ],
)
def test_keys_cannot_carry_scopes_beyond_what_the_caller_may_grant(
    client: TestClient, alice: Account, kind: str, scopes: list[str]
) -> None:
    response = client.post(
        "/v1/api-keys", json={"name": "k", "kind": kind, "scopes": scopes}, headers=alice.headers
    )
    assert response.status_code == (403 if kind == "service" else 422), response.text
    assert client.get("/v1/api-keys", headers=alice.headers).json()["items"] == []


def test_an_admin_holds_no_photo_scopes_and_grants_none_to_its_own_keys(
    client: TestClient, admin: Account
) -> None:
    assert client.get("/v1/images", headers=admin.headers).status_code == 403
    refused = client.post(
        "/v1/api-keys", json={"name": "k", "scopes": ["images:read"]}, headers=admin.headers
    )
    assert refused.status_code == 422
