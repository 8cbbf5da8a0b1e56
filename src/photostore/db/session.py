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
end instead of committed, for the audit row to commit with it. The opening statement, the
commit and the parked commit go to psycopg directly: SQLAlchemy reads only the first
result of a statement of several, and cannot pipeline.

An error of the database library leaving a unit of work (or a parked commit) leaves it
as photostore's own (``db.errors``): a dropped connection as ``DatabaseUnavailable``, a
NUL character as ``NulInText``.

A unit of work is an ORM session (``for_user``, ``for_system``) or, for the hottest
reads, a psycopg connection straight from the engine's pool (``read_for_user``); both
open, scope, check and end their transactions here, on the one pool.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.util import greenlet_spawn

from photostore.db.errors import DATABASE_RETRY_AFTER, translated
from photostore.db.request import Parked, RequestState, RevocationCheck, current_request
from photostore.db.scope import SYSTEM_SCOPE, user_scope
from photostore.errors import DatabaseUnavailable

# Sent without parameters (the simple query protocol, which takes several statements).
_OPEN_FOR_SYSTEM = f"BEGIN; {SYSTEM_SCOPE}"


def _open_for_user(user_id: uuid.UUID) -> str:
    return f"BEGIN; {user_scope(user_id)}"


# A parked read's commit (see ``Database.end_parked``).
_ASYNCHRONOUS_COMMIT = "SET LOCAL synchronous_commit = off"
# Whether the transaction wrote anything: no transaction id is assigned until it does.
_WROTE = "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"
# Where a session of :class:`Database` keeps its psycopg connection (``driver_connection``).
_DRIVER = "photostore.driver"


def driver_sql(statement: ClauseElement) -> str:
    """``statement`` as psycopg takes it (named ``%(name)s`` parameters), for
    :func:`driver_rows`; compile each statement once, where it is built."""
    return str(statement.compile(dialect=psycopg_dialect.dialect()))  # type: ignore[no-untyped-call]


def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection of ``session``'s transaction (a session of
    :class:`Database`), for statements the ORM cannot run or runs slowly: in its scope,
    under row-level security.

    Kept in the session's ``info`` when the transaction opens: asking SQLAlchemy for it
    (``session.connection()``, ``get_raw_connection()``) costs a greenlet each, and each
    new greenlet maps and unmaps a 16 KiB frame stack (two system calls and page faults,
    the largest part of the ORM's cost per request found with strace)."""
    driver: psycopg.AsyncConnection[Any] = session.info[_DRIVER]
    return driver


async def driver_rows(
    driver: psycopg.AsyncConnection[Any], sql: str, params: Mapping[str, Any]
) -> list[Any]:
    """The rows of ``sql`` (from :func:`driver_sql`) as named tuples, run by psycopg on
    ``driver`` (``Database.read_for_user``'s connection, or a session's
    :func:`driver_connection`): a third of what the same statement costs through the
    ORM's execute (result processing, the greenlet bridge)."""
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


@dataclass(frozen=True)
class _Lease:
    """A pooled connection on loan to one transaction: its psycopg connection, how to give
    it back, and how to drop it when it turns out dead."""

    driver: Any  # psycopg.AsyncConnection
    release: Callable[[], Awaitable[None]]
    discard: Callable[[], Awaitable[None]]
    session: AsyncSession | None = None  # the ORM session on it, for ``for_user``'s kind


async def _park_or_commit(leased: _Lease, parking_for: RequestState | None) -> None:
    """Park the transaction for ``parking_for``'s audit row (its connection stays on loan
    until ``Database.end_parked``), or commit it when there is no request to park for."""
    if parking_for is not None:
        parking_for.parked = Parked(driver=leased.driver, release=leased.release)
    else:
        await leased.driver.commit()


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
        return self._scoped(_open_for_user(user_id), user_id, ends_request)

    def for_system(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A transaction for login and account administration: sees ``users`` only."""
        return self._scoped(_OPEN_FOR_SYSTEM, None)

    def read_for_user(
        self, user_id: uuid.UUID
    ) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
        """A read-only transaction that sees only ``user_id``'s rows, on the psycopg
        connection itself, as the last database work of the request it serves (as
        ``for_user(..., ends_request=True)``): parked for the request's audit row, or
        committed.

        For the hottest reads (an image by id): no ORM session is made. A session's
        construction, its transaction's bookkeeping and its connection wrappers cost more
        than the statement (a third of a ``GET /v1/images/{id}``'s time in the process,
        measured with py-spy and ``bench/requests.py``). The caller writes nothing: the
        transaction is not asked whether it wrote (a round trip), and it commits
        asynchronously with the audit row.
        """
        user_id = uuid.UUID(str(user_id))
        return self._read(_open_for_user(user_id), user_id)

    async def _pending_check(
        self, request: RequestState | None, scope_user: uuid.UUID | None
    ) -> RevocationCheck | None:
        """The request's revocation check for the transaction about to open to carry, once
        the parked transaction has ended (one of the request's at a time); a check this
        transaction could not see (``scope_user`` is another user) runs alone first."""
        if request is None:
            return None
        if request.parked is not None and request.serves_this_task:
            await self.end_parked(request, commit=True)
        check = request.check
        if check is not None and scope_user not in (None, check.user_id):
            async with self._scoped(_open_for_user(check.user_id), check.user_id):
                pass
            return None
        return check

    @asynccontextmanager
    async def _scoped(
        self, opening: str, scope_user: uuid.UUID | None, ends_request: bool = False
    ) -> AsyncIterator[AsyncSession]:
        """A session whose first statement is ``opening`` (and the request's pending
        revocation check, ``db.request``); committed on success (or parked for the
        request's audit row, when it ``ends_request``), rolled back on error."""
        with translated():
            request = current_request()
            check = await self._pending_check(request, scope_user)
            leased = await self._open(opening, check, self._session_lease, request)
            session = leased.session
            assert session is not None
            parked = False
            try:
                yield session
                if session.new or session.dirty or session.deleted:
                    await session.flush()  # what the ORM holds is written before it is asked
                if ends_request and request is not None and request.may_park(scope_user):
                    wrote = await (await leased.driver.execute(_WROTE)).fetchone()
                    parked = not wrote[0]
                # Everything is flushed: a commit goes to psycopg directly, and the session's
                # close finds the connection idle (a greenlet less).
                await _park_or_commit(leased, request if parked else None)
            finally:
                if not parked:
                    await leased.release()

    @asynccontextmanager
    async def _read(
        self, opening: str, scope_user: uuid.UUID
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """``read_for_user``'s transaction on a connection straight from the pool."""
        with translated():
            request = current_request()
            check = await self._pending_check(request, scope_user)
            leased = await self._open(opening, check, self._pool_lease, request)
            parked = False
            try:
                yield leased.driver
                parked = request is not None and request.may_park(scope_user)
                await _park_or_commit(leased, request if parked else None)
            finally:
                if not parked:
                    await leased.release()

    async def _session_lease(self) -> _Lease:
        """A new session and the connection its transaction runs on."""
        session = self._sessions()
        try:
            connection = await session.connection()
        except BaseException:
            await session.close()
            raise
        # The connection was just checked out: reading it does no IO, so it needs no
        # greenlet (``get_raw_connection()`` would spawn one).
        proxied = connection.sync_connection
        assert proxied is not None
        driver: Any = proxied.connection.driver_connection
        session.info[_DRIVER] = driver

        async def discard() -> None:
            await connection.invalidate()
            await session.close()

        return _Lease(driver=driver, release=session.close, discard=discard, session=session)

    async def _pool_lease(self) -> _Lease:
        """A connection straight from the engine's pool (the pool's own calls may do IO,
        a new connection or the reset of a returned one, so they run in a greenlet)."""
        fairy = await greenlet_spawn(self.engine.sync_engine.pool.connect)

        async def release() -> None:
            await greenlet_spawn(fairy.close)

        async def discard() -> None:
            await greenlet_spawn(fairy.invalidate)

        return _Lease(driver=fairy.driver_connection, release=release, discard=discard)

    async def _open(
        self,
        opening: str,
        check: RevocationCheck | None,
        lease: Callable[[], Awaitable[_Lease]],
        request: RequestState | None,
    ) -> _Lease:
        """A connection from ``lease`` with the transaction opened and scoped (and
        ``check`` confirmed) by one statement, run again once on a fresh connection if the
        pooled one turns out dead."""
        statement = opening if check is None else f"{opening}; {check.statement()}"
        try:
            for retry in (True, False):
                leased = await lease()
                try:
                    async with leased.driver.cursor() as cursor:
                        try:
                            await cursor.execute(statement)
                        except psycopg.OperationalError:
                            if retry and leased.driver.broken:
                                # Nothing ran on the dead connection: drop it and every
                                # pooled connection as old (a restart kills them all),
                                # and start again.
                                await leased.discard()
                                await self.engine.dispose(close=False)
                                continue
                            raise
                        if check is not None:
                            cursor.nextset()  # the scope's set_config
                            cursor.nextset()  # the check
                            check.verify(await cursor.fetchone())
                except BaseException:
                    await leased.release()
                    raise
                if check is not None and request is not None:
                    request.check = None
                return leased
        except BaseException:
            if check is not None and request is not None:
                request.check_failed = True
            raise
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
        with translated():
            try:
                if commit:
                    async with parked.driver.pipeline():
                        await parked.driver.execute(_ASYNCHRONOUS_COMMIT)
                        if statement is not None:
                            await parked.driver.execute(statement, params)
                        await parked.driver.execute("COMMIT")
            finally:
                await parked.release()

    async def ping(self) -> None:
        """Raise :class:`DatabaseUnavailable` unless the database answers a trivial query:
        whatever fails on the way (a refused connection, a broken one, a pool timeout)
        means it does not."""
        try:
            leased = await self._open("SELECT 1", None, self._pool_lease, None)
        except (sa_exc.SQLAlchemyError, psycopg.Error, OSError) as exc:
            raise DatabaseUnavailable("the database does not answer", DATABASE_RETRY_AFTER) from exc
        await leased.release()

    async def dispose(self) -> None:
        await self.engine.dispose()
