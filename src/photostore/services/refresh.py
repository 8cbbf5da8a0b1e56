"""Refresh tokens rotate, and a reused one revokes its family.

Each login starts a family of refresh tokens (a ``refresh_families`` row). The family
holds one number, its current generation; the refresh token it hands out names the
family and that generation. A refresh moves the family to the next generation, in one
statement that succeeds only for the current one, so a refresh token works once, even
when two requests race with it. Presenting one of an older generation means it was
copied (the client already got its successor): the family is revoked, so both copies,
the thief's and the owner's, stop working and the owner logs in again. Access tokens
already issued from the family live out their few minutes
(``PHOTOSTORE_ACCESS_TOKEN_MINUTES``); logging out ends them too.

Families are rows of their user, behind row-level security as every other; expired ones
are deleted when their user next logs in.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from photostore.auth.tokens import RefreshPlace, TokenClaims
from photostore.db.repositories.refresh_families import RefreshFamilyRepository
from photostore.errors import Unauthenticated
from photostore.ids import new_id
from photostore.services.context import ServiceContext


class RefreshFamilies:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.lifetime = timedelta(days=ctx.settings.refresh_token_days)

    async def start(self, user_id: uuid.UUID) -> RefreshPlace:
        """A new family for a login, at generation 0."""
        now = self.ctx.clock()
        family_id = new_id()
        async with self.ctx.db.for_user(user_id) as session:
            families = RefreshFamilyRepository(session, user_id)
            await families.start(family_id, now, now + self.lifetime)
        return RefreshPlace(family_id, 0)

    async def rotate(self, claims: TokenClaims) -> RefreshPlace:
        """The next place of the family a verified refresh token names; 401 if the token
        is not its family's current one (and then the family is revoked)."""
        if claims.family is None:
            raise Unauthenticated("this refresh token is from before tokens rotated; log in again")
        user_id, place = claims.user_id, claims.family
        now = self.ctx.clock()
        async with self.ctx.db.for_user(user_id) as session:
            families = RefreshFamilyRepository(session, user_id)
            moved = await families.advance(
                place.family_id, place.generation, now, now + self.lifetime
            )
        if moved is not None:
            return RefreshPlace(place.family_id, moved)
        # Not the current token. Committed before answering: the 401 must not undo it.
        async with self.ctx.db.for_user(user_id) as session:
            families = RefreshFamilyRepository(session, user_id)
            reused = await families.revoke_if_passed(place.family_id, place.generation, now)
        if reused:
            raise Unauthenticated(
                "this refresh token was already used: every refresh token of its login is revoked; "
                "log in again"
            )
        raise Unauthenticated("the refresh token has been revoked")
