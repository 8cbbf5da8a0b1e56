"""Accounts and login over the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from tests.conftest import Account, create_account


def test_signup_login_and_me(client: TestClient) -> None:
    account = create_account(client, "Ada@Example.org")
    me = client.get("/v1/users/me", headers=account.headers)
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.org"
    assert me.json()["role"] == "user"
    assert me.json()["id"] == str(account.id)
    assert "password_hash" not in me.json()


def test_token_response_is_oauth2_shaped(client: TestClient, alice: Account) -> None:
    token = client.post(
        "/v1/auth/token", data={"username": alice.email, "password": alice.password}
    )
    body = token.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    assert body["access_token"].count(".") == 2


def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: TestClient, alice: Account
) -> None:
    wrong = client.post(
        "/v1/auth/token", data={"username": alice.email, "password": "not it at all"}
    )
    unknown = client.post(
        "/v1/auth/token", data={"username": "nobody@example.org", "password": "whatever1"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["content-type"] == "application/problem+json"


def test_duplicate_email_is_a_conflict(client: TestClient, alice: Account) -> None:
    again = client.post("/v1/users", json={"email": "ALICE@example.org", "password": "another one"})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/conflict")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": "long enough"},
        {"email": "a@example.org", "password": "short"},
        {"email": "a@example.org"},
        {"email": 5, "password": "long enough"},
        {
            "email": "a@example.org",
            "password": "long enough",
            "id": "00000000-0000-0000-0000-000000000000",
        },
        {"email": "a@example.org", "password": "long enough", "owner_id": "x"},
    ],
)
def test_bad_signup_bodies_are_422(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/v1/users", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_signup_cannot_grant_admin(client: TestClient) -> None:
    response = client.post(
        "/v1/users", json={"email": "eve@example.org", "password": "long enough", "role": "admin"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
)
def test_me_needs_a_valid_token(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v1/users/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_with_signup_closed_only_admins_create_accounts(settings: Settings) -> None:
    closed = settings.model_copy(update={"allow_signup": False})
    with TestClient(create_app(closed)) as client:
        anonymous = client.post(
            "/v1/users", json={"email": "a@example.org", "password": "long enough"}
        )
        assert anonymous.status_code == 401

        from photostore.auth.principal import Role
        from photostore.services.users import UserService

        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        assert client.portal is not None
        client.portal.call(
            UserService(ctx).create, "root@example.org", "admin password", Role.ADMIN
        )
        token = client.post(
            "/v1/auth/token", data={"username": "root@example.org", "password": "admin password"}
        )
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}

        made = client.post(
            "/v1/users", json={"email": "u@example.org", "password": "long enough"}, headers=admin
        )
        assert made.status_code == 201
        user_token = client.post(
            "/v1/auth/token", data={"username": "u@example.org", "password": "long enough"}
        )
        user = {"Authorization": f"Bearer {user_token.json()['access_token']}"}
        refused = client.post(
            "/v1/users", json={"email": "v@example.org", "password": "long enough"}, headers=user
        )
        assert refused.status_code == 403
        second_admin = client.post(
            "/v1/users",
            json={"email": "r2@example.org", "password": "long enough", "role": "admin"},
            headers=admin,
        )
        assert second_admin.status_code == 201
        assert second_admin.json()["role"] == "admin"
        # Admins manage accounts; they cannot read or store photos.
        assert client.get("/v1/images", headers=admin).status_code == 403
        refused_upload = client.post(
            "/v1/images", files={"file": ("a.png", b"\x89PNG\r\n\x1a\n")}, headers=admin
        )
        assert refused_upload.status_code == 403
        assert refused_upload.json()["type"].endswith("/forbidden")
