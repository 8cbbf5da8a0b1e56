"""Transactions scoped to one user for code that runs in worker threads, not on the loop.

The blob store is synchronous (services call it from worker threads), and so are its
reads of data keys; ``search optimize`` is a command of its own. They open their
transactions here, scoped with the statements of ``db.scope`` like every transaction of
:class:`db.session.Database`, and under the same connection policy: pooled connections
are not pinged before use; a connection found dead by the statement that scopes the
transaction is replaced and that statement run again (nothing ran on the dead one).
The database library's errors leave as photostore's (``db.errors``), as there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, RootTransaction, create_engine
from sqlalchemy import exc as sa_exc

from photostore.db.errors import translated
from photostore.db.scope import SYSTEM_SCOPE, user_scope


class SyncDatabase:
    """Opens synchronous transactions for one user or for the system context."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def connect(cls, url: str, pool_size: int, *, overflow: int = 0) -> SyncDatabase:
        """A small pool on ``url``; statement parameters never reach a log line (they
        hold wrapped keys)."""
        return cls(
            create_engine(url, pool_size=pool_size, max_overflow=overflow, hide_parameters=True)
        )

    @contextmanager
    def for_user(self, user_id: uuid.UUID) -> Iterator[Connection]:
        """A transaction that sees only ``user_id``'s rows; commits on success."""
        with self._scoped(user_scope(user_id)) as conn:
            yield conn

    @contextmanager
    def for_system(self) -> Iterator[Connection]:
        """A transaction for account administration: sees ``users`` only."""
        with self._scoped(SYSTEM_SCOPE) as conn:
            yield conn

    @contextmanager
    def _scoped(self, scoping: str) -> Iterator[Connection]:
        with translated():
            conn, transaction = self._open(scoping)
            with conn, transaction:  # commit on success, roll back on error, then give back
                yield conn

    def _open(self, scoping: str) -> tuple[Connection, RootTransaction]:
        """A pooled connection in a transaction that ``scoping`` opened, run again once
        on a fresh connection if the pooled one turns out dead."""
        for retry in (True, False):
            conn = self.engine.connect()
            try:
                transaction = conn.begin()
                conn.exec_driver_sql(scoping)
            except sa_exc.DBAPIError as exc:
                conn.close()
                if retry and exc.connection_invalidated:
                    # A restart kills every pooled connection: drop them all as old.
                    self.engine.dispose(close=False)
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            return conn, transaction
        raise AssertionError("unreachable: the second attempt returns or raises")

    def dispose(self) -> None:
        self.engine.dispose()
