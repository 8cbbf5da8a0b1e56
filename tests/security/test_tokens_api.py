"""Token attacks through the API, refresh, logout, password change, deletion, rate limits."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from photostore.auth.signing import signing_key_for
from photostore.auth.tokens import REFRESH, TokenCodec
from photostore.config import Settings
from tests.conftest import Account, create_account
from tests.security.conftest import bearer, login


def _b64(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def _codec(settings: Settings, **changes: object) -> TokenCodec:
    """A codec with the server's key (generated in its data folder when it started)."""
    key = signing_key_for(settings)
    args: dict[str, object] = {
        "secret": key.secret,
        "key_id": key.key_id,
        "issuer": settings.token_issuer,
        "audience": settings.token_audience,
        "lifetime": timedelta(minutes=5),
    }
    args.update(changes)
    return TokenCodec(**args)  # type: ignore[arg-type]


def _forgeries(settings: Settings, alice: Account, bob: Account) -> dict[str, str]:
    good = _codec(settings).issue(alice.id, 0)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{payload}.",
        "RS256 signed by an attacker's key": jwt.encode(
            claims, private, algorithm="RS256", headers={"kid": kid}
        ),
        # HS/RS confusion: HMAC keyed with a public key, as a confused verifier would check.
        "HS256 keyed with an RSA public key": _hs256_raw(claims, kid, public_pem),
        "expired": _codec(settings).issue(alice.id, 0, now=datetime.now(UTC) - timedelta(hours=2)),
        "wrong audience": _codec(settings, audience="another-api").issue(alice.id, 0),
        "wrong issuer": _codec(settings, issuer="someone-else").issue(alice.id, 0),
        "tampered payload": f"{header}.{_b64({**claims, 'sub': str(bob.id)})}.{signature}",
        "another secret": _codec(settings, secret="z" * 64).issue(alice.id, 0),
        "refresh token as access token": _codec(settings).issue(alice.id, 0, kind=REFRESH),
        "garbage": "not.a.token",
    }


def _hs256_raw(claims: dict[str, object], kid: str, key: bytes) -> str:
    import hashlib
    import hmac

    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{_b64(claims)}"
    digest = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def test_forged_and_misused_tokens_are_401(
    client: TestClient, settings: Settings, alice: Account, bob: Account
) -> None:
    for name, token in _forgeries(settings, alice, bob).items():
        response = client.get("/v1/users/me", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"] == "Bearer", name
        assert response.json()["type"].endswith("/unauthenticated"), name


def test_refresh_gives_new_tokens_and_refuses_access_tokens(
    client: TestClient, alice: Account
) -> None:
    tokens = login(client, alice.email, alice.password)
    refreshed = client.post("/v1/auth/refresh", data={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert client.get("/v1/users/me", headers=bearer(refreshed.json()["access_token"])).is_success
    misuse = client.post("/v1/auth/refresh", data={"refresh_token": tokens["access_token"]})
    assert misuse.status_code == 401


def test_logout_revokes_every_token(client: TestClient, alice: Account) -> None:
    tokens = login(client, alice.email, alice.password)
    assert client.post("/v1/auth/logout", headers=alice.headers).status_code == 204
    assert client.get("/v1/users/me", headers=alice.headers).status_code == 401
    assert client.get("/v1/users/me", headers=bearer(tokens["access_token"])).status_code == 401
    refresh = client.post("/v1/auth/refresh", data={"refresh_token": tokens["refresh_token"]})
    assert refresh.status_code == 401


def test_a_password_change_revokes_tokens_and_needs_the_current_password(
    client: TestClient, alice: Account
) -> None:
    wrong = {"current_password": "not it at all", "new_password": "a new password"}
    assert (
        client.post("/v1/users/me/password", json=wrong, headers=alice.headers).status_code == 403
    )
    change = {"current_password": alice.password, "new_password": "a new password"}
    assert (
        client.post("/v1/users/me/password", json=change, headers=alice.headers).status_code == 204
    )
    assert client.get("/v1/users/me", headers=alice.headers).status_code == 401
    old = client.post("/v1/auth/token", data={"username": alice.email, "password": alice.password})
    assert old.status_code == 401
    login(client, alice.email, "a new password")


def test_a_deleted_users_tokens_and_keys_are_401(client: TestClient, alice: Account) -> None:
    key = client.post(
        "/v1/api-keys", json={"name": "k", "scopes": ["images:read"]}, headers=alice.headers
    ).json()["key"]
    assert client.delete("/v1/users/me", headers=alice.headers).status_code == 204
    assert client.get("/v1/users/me", headers=alice.headers).status_code == 401
    assert client.get("/v1/images", headers=bearer(key)).status_code == 401
    gone = client.post("/v1/auth/token", data={"username": alice.email, "password": alice.password})
    assert gone.status_code == 401


def test_logins_are_rate_limited_per_email_alike_for_known_and_unknown_emails(
    client: TestClient, settings: Settings, alice: Account
) -> None:
    for email in (alice.email, "nobody@example.org"):
        answers = [
            client.post("/v1/auth/token", data={"username": email, "password": "wrong guess"})
            for _ in range(settings.login_max_failures + 1)
        ]
        assert [a.status_code for a in answers[:-1]] == [401] * settings.login_max_failures
        limited = answers[-1]
        assert limited.status_code == 429, email
        assert int(limited.headers["retry-after"]) > 0
        assert limited.json()["detail"] == "too many failed logins; try again later"
    # The right password is refused too while limited: no oracle for guesses.
    right = client.post(
        "/v1/auth/token", data={"username": alice.email, "password": alice.password}
    )
    assert right.status_code == 429
    # Another account from the same address is still served (its limit is higher).
    create_account(client, "carol@example.org")


@pytest.mark.parametrize("email", ["ALICE@example.org", " alice@example.org "])
def test_failed_login_answers_do_not_tell_whether_the_email_exists(
    client: TestClient, alice: Account, email: str
) -> None:
    known = client.post("/v1/auth/token", data={"username": email, "password": "wrong!"})
    unknown = client.post(
        "/v1/auth/token",
        data={"username": f"x{uuid.uuid4().hex}@example.org", "password": "wrong!"},
    )
    strip = {"request_id", "instance"}
    assert known.status_code == unknown.status_code == 401
    assert {k: v for k, v in known.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
