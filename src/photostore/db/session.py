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

Within an API request (``db.request``) the opening statement also carries the request's
pending token check, and a read-only unit of work for the audited user is parked at its
end instead of committed, for the audit row to commit with it. The opening statement and
the parked commit go to psycopg directly: SQLAlchemy reads only the first result of a
statement of several, and cannot pipeline.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.elements import ClauseElement

from photostore.db.request import Parked, RequestState, RevocationCheck, current_request

# Sent without parameters (the simple query protocol, which takes several statements);
# the only value spliced in is a ``uuid.UUID``'s canonical form.
_OPEN_FOR_USER = "BEGIN; SELECT set_config('app.user_id', '{user_id}', true)"
_OPEN_FOR_SYSTEM = "BEGIN; SELECT set_config('app.system', 'on', true)"
# A parked read's commit (see ``Database.end_parked``).
_ASYNCHRONOUS_COMMIT = "SET LOCAL synchronous_commit = off"
# Whether the transaction wrote anything: no transaction id is assigned until it does.
_WROTE = "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"


def driver_sql(statement: ClauseElement) -> str:
    """``statement`` as psycopg takes it (named ``%(name)s`` parameters), for
    :func:`driver_rows`; compile each statement once, where it is built."""
    return str(statement.compile(dialect=psycopg_dialect.dialect()))  # type: ignore[no-untyped-call]


async def driver_rows(session: AsyncSession, sql: str, params: Mapping[str, Any]) -> list[Any]:
    """The rows of ``sql`` (from :func:`driver_sql`) as named tuples, run by psycopg
    directly on the connection of ``session``'s transaction: in its scope, under
    row-level security, at a third of what the same statement costs through the ORM's
    execute (result processing, the greenlet bridge)."""
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    async with driver.cursor(row_factory=namedtuple_row) as cursor:
        await cursor.execute(sql, params)
        rows: list[Any] = await cursor.fetchall()
    return rows


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine with a bounded pool, its connections in autocommit mode: each
    transaction is opened by :class:`Database` (see the module's notes)."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        isolation_level="AUTOCOMMIT",
        # An error's message would carry the statement's values (password hashes,
        # emails, GPS) into the logs; the SQL text with its placeholders is enough.
        hide_parameters=True,
    )


class Database:
    """Opens transactions for one user or for the system context."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    def for_user(
        self, user_id: uuid.UUID, *, ends_request: bool = False
    ) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction that sees only ``user_id``'s rows; commits on success.

        ``ends_request`` says it is the last database work of the request it serves, with
        nothing slow after it: a read may then stay open until the request's audit row
        is written with it (``db.request``). Only such units of work may, since an open
        transaction holds a pooled connection: one held through a decode, a password
        hash or a blob read would let a few slow requests take the whole pool.
        """
        user_id = uuid.UUID(str(user_id))
        return self._scoped(_OPEN_FOR_USER.format(user_id=user_id), user_id, ends_request)

    def for_system(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction for login and account administration: sees ``users`` only."""
        return self._scoped(_OPEN_FOR_SYSTEM, None)

    @asynccontextmanager
    async def _scoped(
        self, opening: str, scope_user: uuid.UUID | None, ends_request: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A session whose first statement is ``opening`` (and the request's pending
        revocation check, ``db.request``), run again once on a fresh connection if the
        pooled one turns out dead; committed on success (or parked for the request's
        audit row, when it ``ends_request``), rolled back on error."""
        request = current_request()
        if request is not None and request.parked is not None and request.serves_this_task:
            # One transaction of the request at a time: the parked one ends first.
            await self.end_parked(request, commit=True)
        check = request.check if request is not None else None
        if check is not None and scope_user not in (None, check.user_id):
            # This transaction cannot see the user's row: check in one of its own first.
            async with self._scoped(_OPEN_FOR_USER.format(user_id=check.user_id), check.user_id):
                pass
            check = None
        try:
            session, driver = await self._open(opening, check)
        except BaseException:
            if check is not None and request is not None:
                request.check_failed = True
            raise
        if check is not None and request is not None:
            request.check = None
        try:
            yield session
            if ends_request and request is not None and request.may_park(scope_user):
                await session.flush()  # what the ORM holds is written before it is asked
                wrote = await (await driver.execute(_WROTE)).fetchone()
                if not wrote[0]:
                    request.parked = Parked(session=session, driver=driver)
                    return
            await session.commit()
        except BaseException:
            await session.close()
            raise
        await session.close()

    async def _open(self, opening: str, check: RevocationCheck | None) -> tuple[AsyncSession, Any]:
        """A session and its psycopg connection, the transaction opened and scoped (and
        ``check`` confirmed) by one statement."""
        statement = opening if check is None else f"{opening}; {check.statement()}"
        for retry in (True, False):
            session = self._sessions()
            try:
                connection = await session.connection()
                driver: Any = (await connection.get_raw_connection()).driver_connection
                async with driver.cursor() as cursor:
                    try:
                        await cursor.execute(statement)
                    except psycopg.OperationalError:
                        if retry and driver.broken:
                            # Nothing ran on the dead connection: drop it and every pooled
                            # connection as old (a restart kills them all), start again.
                            await connection.invalidate()
                            await session.close()
                            await self.engine.dispose(close=False)
                            continue
                        raise
                    if check is not None:
                        cursor.nextset()  # the scope's set_config
                        cursor.nextset()  # the check
                        check.verify(await cursor.fetchone())
            except BaseException:
                await session.close()
                raise
            return session, driver
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def end_parked(
        self,
        request: RequestState,
        *,
        commit: bool,
        statement: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """End the request's parked transaction: with ``statement`` run first and the
        commit sent with it in one round trip, or rolled back (``commit=False``).

        The commit does not wait for its WAL to reach the disk: the transaction read, and
        wrote only the audit row (``statement``), which PostgreSQL makes durable within
        three ``wal_writer_delay`` (600 ms); only a crash of the database server in that
        window can lose it. The flush it skips was the largest part of a read's time
        (0.5-1.2 ms of an audited ``GET`` here)."""
        parked, request.parked = request.parked, None
        if parked is None:
            return
        try:
            if commit:
                async with parked.driver.pipeline():
                    await parked.driver.execute(_ASYNCHRONOUS_COMMIT)
                    if statement is not None:
                        await parked.driver.execute(statement, params)
                    await parked.driver.execute("COMMIT")
        finally:
            await parked.session.close()

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        session, _ = await self._open("SELECT 1", None)
        await session.close()

    async def dispose(self) -> None:
        await self.engine.dispose()
