"""Engines and transactions scoped to one user (or to the system context).

Every unit of work opens a transaction through :class:`Database` and says for whom it
runs. The scope is set with ``set_config(name, value, true)``: transaction-local, so it
is gone when the transaction ends and a pooled connection cannot leak it to the next
request.

The statement that opens a transaction also scopes it: ``BEGIN; SELECT set_config(...)``
in one round trip. The driver runs in autocommit mode so that it does not send a
``BEGIN`` of its own first (one more round trip per transaction); psycopg's ``commit()``
and ``rollback()`` go by the server's transaction status, so SQLAlchemy's commit, its
rollback on error and the pool's reset on return end these transactions as before. No
statement of the application runs outside them: each unit of work goes through
:class:`Database`.

Pooled connections are not pinged before use (another round trip on every transaction).
Instead, a connection found dead by a transaction's first statement, the one opening and
scoping it, is replaced and that statement run again: nothing ran on the dead
connection, so nothing is repeated, and a database restart between requests is not seen
by callers.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# Sent without parameters (the simple query protocol, which takes two statements); the
# only value spliced in is a ``uuid.UUID``'s canonical form.
_OPEN_FOR_USER = "BEGIN; SELECT set_config('app.user_id', '{user_id}', true)"
_OPEN_FOR_SYSTEM = "BEGIN; SELECT set_config('app.system', 'on', true)"


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine with a bounded pool, its connections in autocommit mode: each
    transaction is opened by :class:`Database` (see the module's notes)."""
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, isolation_level="AUTOCOMMIT"
    )


class _DeadConnection(Exception):
    """The pooled connection a transaction was given had died before its first statement."""


class Database:
    """Opens transactions for one user or for the system context."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def for_user(self, user_id: uuid.UUID) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction that sees only ``user_id``'s rows; commits on success."""
        return self._scoped(_OPEN_FOR_USER.format(user_id=uuid.UUID(str(user_id))))

    def for_system(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction for login and account administration: sees ``users`` only."""
        return self._scoped(_OPEN_FOR_SYSTEM)

    @asynccontextmanager
    async def _scoped(self, opening: str) -> AsyncIterator[AsyncSession]:
        """A session whose first statement is ``opening``, run again once on a fresh
        connection if the pooled one turns out dead; committed on success, rolled back
        on error."""
        for retry in (True, False):
            try:
                async with self._sessions() as session, session.begin():
                    try:
                        connection = await session.connection()
                        await connection.exec_driver_sql(opening)
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
        async with self._scoped("SELECT 1"):
            pass

    async def dispose(self) -> None:
        await self.engine.dispose()
