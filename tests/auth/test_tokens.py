"""Access tokens: one algorithm, issuer, audience, expiry and key id, all enforced."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from photostore.auth.tokens import TokenCodec
from photostore.errors import Unauthenticated

SECRET = "s" * 64


def codec(**kw: object) -> TokenCodec:
    args: dict[str, object] = {
        "secret": SECRET,
        "issuer": "photostore",
        "audience": "photostore-api",
        "lifetime": timedelta(minutes=5),
    }
    args.update(kw)
    return TokenCodec(**args)  # type: ignore[arg-type]


def test_a_token_round_trips() -> None:
    user = uuid.uuid4()
    claims = codec().verify(codec().issue(user, 3))
    assert claims.user_id == user
    assert claims.token_version == 3


def _b64(obj: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def test_attacks_are_refused() -> None:
    good = codec().issue(uuid.uuid4(), 0)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    forged = [
        # alg none
        f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{payload}.",
        # tampered payload, old signature
        f"{header}.{_b64({**claims, 'sub': str(uuid.uuid4())})}.{signature}",
        # another secret
        codec(secret="t" * 64).issue(uuid.uuid4(), 0),
        # wrong audience / issuer
        codec(audience="other").issue(uuid.uuid4(), 0),
        codec(issuer="other").issue(uuid.uuid4(), 0),
        # expired
        codec().issue(uuid.uuid4(), 0, now=datetime.now(UTC) - timedelta(hours=1)),
        # HS384 with the right secret and kid: the algorithm is fixed, not read from the token
        jwt.encode(claims, SECRET, algorithm="HS384", headers={"kid": kid}),
        "not-a-token",
        "",
    ]
    for token in forged:
        with pytest.raises(Unauthenticated):
            codec().verify(token)


def test_a_remembered_token_still_expires_and_keeps_its_kind() -> None:
    now = [datetime.now(UTC)]
    tokens = codec(clock=lambda: now[0])
    token = tokens.issue(uuid.uuid4(), 0, role="user")
    assert tokens.verify(token).role == "user"
    with pytest.raises(Unauthenticated, match="not an refresh token"):
        tokens.verify(token, kind="refresh")
    assert tokens.verify(token).role == "user"  # remembered
    now[0] += timedelta(minutes=6)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify(token)


@pytest.mark.parametrize(
    "exp", [10**20, 1e300, 10**400, float("inf")], ids=["1e20", "1e300", "10^400", "inf"]
)
def test_a_signed_token_with_an_exp_past_any_date_is_refused(exp: float) -> None:
    # Only a holder of the secret can sign one; it is still a 401, never a 500.
    token = codec().issue(uuid.uuid4(), 0)
    header, _, _ = token.split(".")
    kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    claims = {
        "sub": str(uuid.uuid4()),
        "ver": 0,
        "typ": "access",
        "iss": "photostore",
        "aud": "photostore-api",
        "iat": int(datetime.now(UTC).timestamp()),
        "exp": exp,
    }
    signed = jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": kid})
    with pytest.raises(Unauthenticated, match="not valid"):
        codec().verify(signed)
