"""Engines and transactions scoped to one user (or to the system context).

Every unit of work opens a transaction through :class:`Database` and says for whom it
runs. The scope is set with ``set_config(name, value, true)``: transaction-local, so it
is gone when the transaction ends and a pooled connection cannot leak it to the next
request.

Pooled connections are not pinged before use (a round trip on every transaction).
Instead, a connection found dead by a transaction's first statement, the one setting
the scope, is replaced and that statement run again: nothing ran on the dead connection,
so nothing is repeated, and a database restart between requests is not seen by callers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

_SET_USER = text("SELECT set_config('app.user_id', :user_id, true)")
_SET_SYSTEM = text("SELECT set_config('app.system', 'on', true)")


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine with a bounded pool (see the module's note on dead connections)."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)


class _DeadConnection(Exception):
    """The pooled connection a transaction was given had died before its first statement."""


class Database:
    """Opens transactions for one user or for the system context."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def for_user(self, user_id: uuid.UUID) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction that sees only ``user_id``'s rows; commits on success."""
        return self._scoped(_SET_USER, {"user_id": str(user_id)})

    def for_system(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction for login and account administration: sees ``users`` only."""
        return self._scoped(_SET_SYSTEM, {})

    @asynccontextmanager
    async def _scoped(
        self, scope: TextClause, params: dict[str, str]
    ) -> AsyncIterator[AsyncSession]:
        """A transaction whose first statement is ``scope``, run again once on a fresh
        connection if the pooled one turns out dead."""
        for retry in (True, False):
            try:
                async with self._sessions() as session, session.begin():
                    try:
                        await session.execute(scope, params)
                    except DBAPIError as error:
                        if retry and error.connection_invalidated:
                            # The pool dropped its connections as old as this one.
                            raise _DeadConnection from error
                        raise
                    yield session
                    return
            except _DeadConnection:
                continue

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self._scoped(text("SELECT 1"), {}):
            pass

    async def dispose(self) -> None:
        await self.engine.dispose()
