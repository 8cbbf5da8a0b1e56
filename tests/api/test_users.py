"""Accounts and login over the API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from photostore.app import create_app
from photostore.config import Settings
from photostore.services.users import UserService
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


def test_open_signup_answers_alike_for_a_new_and_a_taken_email(
    client: TestClient, alice: Account
) -> None:
    taken = client.post("/v1/users", json={"email": "ALICE@example.org", "password": "other one"})
    new = client.post("/v1/users", json={"email": "Carol@Example.org", "password": "carol pass"})
    assert taken.status_code == new.status_code == 202
    assert taken.json().keys() == new.json().keys() == {"email", "detail"}
    assert taken.json()["detail"] == new.json()["detail"]
    assert (taken.json()["email"], new.json()["email"]) == (alice.email, "carol@example.org")
    # The taken account is unchanged; the new one exists: logging in tells its owner.
    assert (
        client.post(
            "/v1/auth/token", data={"username": alice.email, "password": "other one"}
        ).status_code
        == 401
    )
    assert client.post(
        "/v1/auth/token", data={"username": "carol@example.org", "password": "carol pass"}
    ).is_success


def test_an_admin_creating_a_taken_email_gets_a_conflict(client: TestClient) -> None:
    from photostore.auth.principal import Role
    from photostore.services.users import UserService

    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    assert client.portal is not None
    client.portal.call(UserService(ctx).create, "root@example.org", "admin password", Role.ADMIN)
    token = client.post(
        "/v1/auth/token", data={"username": "root@example.org", "password": "admin password"}
    ).json()["access_token"]
    admin = {"Authorization": f"Bearer {token}"}
    body = {"email": "dora@example.org", "password": "long enough"}
    made = client.post("/v1/users", json=body, headers=admin)
    assert made.status_code == 201 and made.json()["email"] == "dora@example.org"
    again = client.post("/v1/users", json=body, headers=admin)
    assert again.status_code == 409
    assert again.json()["type"].endswith("/conflict")


@pytest.mark.parametrize(
    "spelling",
    ["\u00e9mile@example.org", "e\u0301mile@example.org", " E\u0301MILE@EXAMPLE.ORG "],
)
def test_emails_are_one_account_however_they_are_composed(
    client: TestClient, spelling: str
) -> None:
    # Precomposed "é" signs up; the decomposed "e" + combining acute logs in as the same.
    create_account(client, "\u00e9mile@example.org")
    again = client.post("/v1/users", json={"email": spelling, "password": "another one"})
    assert again.json()["email"] == "\u00e9mile@example.org"
    login = client.post("/v1/auth/token", data={"username": spelling, "password": "correct horse"})
    assert login.status_code == 200, login.text
    listed = UserService(client.app.state.ctx)  # type: ignore[attr-defined]
    assert client.portal is not None
    attempt = client.portal.call(listed.check_credentials, spelling, "correct horse")
    assert attempt.ok and attempt.user is not None
    assert attempt.user.email == "\u00e9mile@example.org"


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
        assert made.json()["email"] == "u@example.org"
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
