"""The rows of ``refresh_families``: one user's logins and the generation each is at."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db.models import RefreshFamily


class RefreshFamilyRepository:
    """Refresh families of one user, read and written in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, user_id: uuid.UUID) -> None:
        self._session = session
        self._user_id = user_id

    async def start(self, family_id: uuid.UUID, now: datetime, expires_at: datetime) -> None:
        """A new family at generation 0; the user's expired ones are deleted with it."""
        await self._session.execute(
            delete(RefreshFamily).where(
                RefreshFamily.owner_id == self._user_id, RefreshFamily.expires_at <= now
            )
        )
        await self._session.execute(
            insert(RefreshFamily).values(
                owner_id=self._user_id,
                id=family_id,
                generation=0,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def advance(
        self, family_id: uuid.UUID, generation: int, now: datetime, expires_at: datetime
    ) -> int | None:
        """Move the family from ``generation`` to the next one, in one statement that only
        a live family at exactly that generation passes; the new generation, or None."""
        moved: int | None = await self._session.scalar(
            update(RefreshFamily)
            .where(
                RefreshFamily.owner_id == self._user_id,
                RefreshFamily.id == family_id,
                RefreshFamily.generation == generation,
                RefreshFamily.revoked_at.is_(None),
                RefreshFamily.expires_at > now,
            )
            .values(generation=RefreshFamily.generation + 1, expires_at=expires_at)
            .returning(RefreshFamily.generation)
        )
        return moved

    async def revoke_if_passed(self, family_id: uuid.UUID, generation: int, now: datetime) -> bool:
        """Revoke the family if it is live and already past ``generation`` (a token of
        that generation was used again), in one statement; whether it was."""
        revoked = await self._session.scalar(
            update(RefreshFamily)
            .where(
                RefreshFamily.owner_id == self._user_id,
                RefreshFamily.id == family_id,
                RefreshFamily.revoked_at.is_(None),
                RefreshFamily.generation > generation,
            )
            .values(revoked_at=now)
            .returning(RefreshFamily.id)
        )
        return revoked is not None
