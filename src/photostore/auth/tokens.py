"""Bearer tokens: JWTs signed with HS256, one fixed algorithm, issuer, audience, key id.

The verifier never reads the algorithm from the token: ``alg: none`` and algorithm
confusion are refused by construction. ``ver`` carries the user's token version; bumping
it in the database revokes every token issued before (logout, password change).

``role`` names the account's role when the token was issued, so a request knows its
permissions before it reaches the database; the database confirms version and role in
the request's first transaction (``db.request``).

``typ`` tells access tokens from refresh tokens: each is accepted only where it belongs,
so a long-lived refresh token can never be used as an access token. A refresh token
also names its family (``fam``, one per login) and generation (``gen``): the database
keeps each family's current generation, so a refresh token works once
(``services.refresh``).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from photostore.auth.signing import derived_key_id
from photostore.errors import Unauthenticated

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
# Tokens whose signature and claims were verified, remembered per codec.
VERIFIED_TOKENS = 4096


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says."""

    user_id: uuid.UUID
    token_version: int
    expires_at: datetime
    role: str | None = None
    """None for a token issued before tokens named the role: its account is read first."""
    family: RefreshPlace | None = None
    """A refresh token's family and generation; None for access tokens (and for refresh
    tokens issued before they rotated)."""


@dataclass(frozen=True)
class RefreshPlace:
    """Which login's family of refresh tokens a refresh token belongs to, and its turn."""

    family_id: uuid.UUID
    generation: int


class TokenCodec:
    """Issues and verifies access tokens with one secret."""

    def __init__(
        self,
        secret: str,
        issuer: str,
        audience: str,
        lifetime: timedelta,
        refresh_lifetime: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] = _utc_now,
        key_id: str | None = None,
    ) -> None:
        self._secret = secret
        self._clock = clock
        # What a token string says never changes, only whether it has expired: a client
        # sends the same token with every request, and verifying it (two JSON documents,
        # an HMAC, the claims) was 5% of a request's time (bench/requests.py, py-spy).
        # Revocation is not remembered here: the database confirms every request.
        self._verified: OrderedDict[tuple[str, str], TokenClaims] = OrderedDict()
        self._issuer = issuer
        self._audience = audience
        self._lifetimes = {ACCESS: lifetime, REFRESH: refresh_lifetime}
        # The key id names the secret without revealing it, so keys can be rotated
        # (auth.signing says how each kind of secret gets its id).
        self._kid = key_id if key_id is not None else derived_key_id(secret)

    def issue(
        self,
        user_id: uuid.UUID,
        token_version: int,
        now: datetime | None = None,
        kind: str = ACCESS,
        role: str | None = None,
        family: RefreshPlace | None = None,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "ver": token_version,
            "typ": kind,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "exp": issued + self._lifetimes[kind],
            "jti": uuid.uuid4().hex,
        }
        if role is not None:
            claims["role"] = role
        if family is not None:
            claims["fam"] = family.family_id.hex
            claims["gen"] = family.generation
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"kid": self._kid})

    def verify(self, token: str, kind: str = ACCESS) -> TokenClaims:
        """The claims of a valid token of ``kind``; raises :class:`Unauthenticated` otherwise."""
        key = (token, kind)
        known = self._verified.get(key)
        if known is not None:
            if known.expires_at <= self._clock():
                del self._verified[key]
                raise Unauthenticated("the token has expired")
            self._verified.move_to_end(key)
            return known
        claims = self._verify(token, kind)
        self._verified[key] = claims
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return claims

    def _verify(self, token: str, kind: str) -> TokenClaims:
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
                options={"require": ["sub", "exp", "iat", "iss", "aud", "ver", "typ"]},
            )
            if claims["typ"] != kind:
                raise Unauthenticated(f"this is not an {kind} token")
            role = claims.get("role")
            family = None
            if "fam" in claims:
                family = RefreshPlace(uuid.UUID(hex=str(claims["fam"])), int(claims.get("gen", "")))
            return TokenClaims(
                user_id=uuid.UUID(claims["sub"]),
                token_version=int(claims["ver"]),
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
                role=str(role) if role is not None else None,
                family=family,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired") from exc
        # OverflowError: an `exp` past year 9999 (or 1e400, an infinity) is no datetime.
        except (jwt.PyJWTError, ValueError, TypeError, OverflowError) as exc:
            raise Unauthenticated("the token is not valid") from exc
