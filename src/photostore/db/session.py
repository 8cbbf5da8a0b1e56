"""Engines and transactions scoped to one user (or to the system context).

Every unit of work opens a transaction through :class:`Database` and says for whom it
runs. The scope is set with ``set_config(name, value, true)``: transaction-local, so it
is gone when the transaction ends and a pooled connection cannot leak it to the next
request.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

_SET_USER = text("SELECT set_config('app.user_id', :user_id, true)")
_SET_SYSTEM = text("SELECT set_config('app.system', 'on', true)")


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine with a bounded pool that checks connections before use."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class Database:
    """Opens transactions for one user or for the system context."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def for_user(self, user_id: uuid.UUID) -> AsyncIterator[AsyncSession]:
        """A transaction that sees only ``user_id``'s rows; commits on success."""
        async with self._sessions() as session, session.begin():
            await session.execute(_SET_USER, {"user_id": str(user_id)})
            yield session

    @asynccontextmanager
    async def for_system(self) -> AsyncIterator[AsyncSession]:
        """A transaction for login and account administration: sees ``users`` only."""
        async with self._sessions() as session, session.begin():
            await session.execute(_SET_SYSTEM)
            yield session

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
