"""The database library's errors as photostore's own (``errors.py``).

Statements run inside the units of work of ``db.session`` and ``db.sync_session``; an
error of psycopg or SQLAlchemy leaving one is turned here into the error a caller can
act on, so no layer above ``db/`` knows the database library:

    a NUL character in a text or jsonb value          NulInText             422
    a value over one of PostgreSQL's limits           OverDatabaseLimit     422
    the database's disk full                          InsufficientStorage   507
    the database not reachable, a dropped connection, DatabaseUnavailable   503
    no pooled connection in time, a statement
    cancelled or a transaction rolled back by the server

Any other database error (a constraint a repository did not expect, a bug) passes
unchanged: it is a fault of ours, answered as one (500).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from types import TracebackType

import psycopg
from sqlalchemy import exc as sa_exc

from photostore.errors import (
    DatabaseUnavailable,
    InsufficientStorage,
    NulInText,
    OverDatabaseLimit,
    PhotostoreError,
)

log = logging.getLogger(__name__)

#: Seconds a caller is asked to wait before retrying when the database is unavailable.
DATABASE_RETRY_AFTER = 1


def database_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL out of disk space for a table or an index (SQLSTATE
    53100): filed by psycopg under OperationalError, but retrying at once cannot help."""
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    return isinstance(cause, psycopg.errors.DiskFull)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not serve the request (not reachable, a
    dropped connection, no pooled connection in time, a statement cancelled or a
    transaction rolled back by the server): the same request may succeed when retried."""
    if over_a_database_limit(exc) or database_disk_full(exc):
        return False
    # Statements run on the psycopg connection itself (the hot reads, the vector cache's
    # COPY) raise its errors unwrapped.
    if isinstance(exc, sa_exc.TimeoutError | psycopg.OperationalError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError)
    )


def over_a_database_limit(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a value over one of its limits (SQLSTATE
    class 54, "program limit exceeded": a tsvector over 1 MiB, an index row over 2,704
    bytes). psycopg files these under OperationalError, as if the server were down, but
    the same request fails the same way every time: retrying cannot help."""
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    return isinstance(cause, psycopg.errors.ProgramLimitExceeded)


def nul_in_text(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a NUL character in a text or jsonb value:
    psycopg refuses it in a text parameter before sending, the server refuses ``\\u0000``
    in jsonb (SQLSTATE 22P05, untranslatable character)."""
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    if not isinstance(cause, psycopg.DataError):
        return False
    return cause.sqlstate == "22P05" or "NUL (0x00)" in str(cause)


def translate(exc: BaseException) -> PhotostoreError | None:
    """The photostore error ``exc`` stands for; None for one no caller can act on."""
    if nul_in_text(exc):
        # The one place every text input ends up is PostgreSQL, which cannot store NUL;
        # mapping its refusal covers every field of every route, present and future, and
        # the transaction it happened in is rolled back whole.
        return NulInText("text must not contain NUL characters (U+0000)")
    if over_a_database_limit(exc):
        # A backstop: the places that can meet a limit (the search document) say which
        # one; any other is still the caller's value, never a reason to retry.
        log.warning("a value over a database limit: %s", exc.__class__.__name__)
        return OverDatabaseLimit(
            "a value of the request is over a size limit of the database; send less"
        )
    if database_disk_full(exc):
        log.warning("the database's disk is full: %s", exc.__class__.__name__)
        return InsufficientStorage(
            "the database's disk is full; nothing was stored, retry after space is freed"
        )
    if database_unavailable(exc):
        log.warning("database unavailable: %s", exc)
        return DatabaseUnavailable(
            "the database is unavailable; retry shortly", DATABASE_RETRY_AFTER
        )
    return None


class _Translated:
    """:func:`translated`'s block: a class, not a generator, since every transaction
    enters one (a generator's context manager costs several times as much)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None or isinstance(exc, PhotostoreError) or not isinstance(exc, Exception):
            return
        error = translate(exc)
        if error is not None:
            raise error from exc


_TRANSLATED = _Translated()


def translated() -> AbstractContextManager[None]:
    """A block that raises what :func:`translate` makes of a database error leaving it,
    with the original as its cause; every other error passes unchanged."""
    return _TRANSLATED
