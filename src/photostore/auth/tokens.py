"""Bearer tokens: JWTs signed with HS256, one fixed algorithm, issuer, audience, key id.

The verifier never reads the algorithm from the token: ``alg: none`` and algorithm
confusion are refused by construction. ``ver`` carries the user's token version; bumping
it in the database revokes every token issued before.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from photostore.errors import Unauthenticated

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says."""

    user_id: uuid.UUID
    token_version: int
    expires_at: datetime


class TokenCodec:
    """Issues and verifies access tokens with one secret."""

    def __init__(self, secret: str, issuer: str, audience: str, lifetime: timedelta) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._lifetime = lifetime
        # The key id names the secret without revealing it, so keys can be rotated.
        self._kid = hashlib.sha256(secret.encode()).hexdigest()[:16]

    def issue(self, user_id: uuid.UUID, token_version: int, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "ver": token_version,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "exp": issued + self._lifetime,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"kid": self._kid})

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid token; raises :class:`Unauthenticated` otherwise."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the token is not valid") from exc
        if kid != self._kid:
            raise Unauthenticated("the token was signed with an unknown key")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["sub", "exp", "iat", "iss", "aud", "ver"]},
            )
            return TokenClaims(
                user_id=uuid.UUID(claims["sub"]),
                token_version=int(claims["ver"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Unauthenticated("the token is not valid") from exc
