"""Refresh tokens rotate on use; presenting a used one revokes its login's family; token
answers are never cached."""

from __future__ import annotations

from fastapi.testclient import TestClient

from photostore.auth.tokens import REFRESH, TokenCodec
from tests.conftest import Account
from tests.security.conftest import bearer, login


def _refresh(client: TestClient, token: str) -> dict[str, str]:
    answer = client.post("/v1/auth/refresh", data={"refresh_token": token})
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body


def test_a_refresh_token_works_once_and_its_reuse_revokes_the_family(
    client: TestClient, alice: Account
) -> None:
    first = login(client, alice.email, alice.password)
    other_login = login(client, alice.email, alice.password)
    second = _refresh(client, first["refresh_token"])
    third = _refresh(client, second["refresh_token"])
    assert client.get("/v1/users/me", headers=bearer(third["access_token"])).is_success

    reused = client.post("/v1/auth/refresh", data={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]
    # The thief's copy and the owner's current token alike: the family is over.
    for token in (third["refresh_token"], second["refresh_token"]):
        answer = client.post("/v1/auth/refresh", data={"refresh_token": token})
        assert answer.status_code == 401, answer.text
    # Another login of the same account is another family, untouched.
    assert _refresh(client, other_login["refresh_token"])["refresh_token"]


def test_a_refresh_token_naming_no_family_is_refused(client: TestClient, alice: Account) -> None:
    # As a refresh token issued before they rotated: signed by the service, no family.
    codec: TokenCodec = client.app.state.tokens  # type: ignore[attr-defined]
    legacy = codec.issue(alice.id, 0, kind=REFRESH)
    answer = client.post("/v1/auth/refresh", data={"refresh_token": legacy})
    assert answer.status_code == 401
    assert "log in again" in answer.json()["detail"]


def test_answers_holding_tokens_or_secrets_are_never_stored(
    client: TestClient, alice: Account
) -> None:
    issued = client.post(
        "/v1/auth/token", data={"username": alice.email, "password": alice.password}
    )
    refreshed = client.post(
        "/v1/auth/refresh", data={"refresh_token": issued.json()["refresh_token"]}
    )
    key = client.post("/v1/api-keys", json={"name": "k"}, headers=alice.headers)
    for what, answer in {"token": issued, "refresh": refreshed, "api key": key}.items():
        assert answer.is_success, (what, answer.text)
        assert answer.headers["cache-control"] == "no-store", what
