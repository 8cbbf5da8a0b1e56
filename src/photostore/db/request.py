"""The database side of one API request: its revocation check and its audited unit of work.

A request authenticated with an access token is verified in process (signature and
claims, ``auth.tokens``); what only the database knows (the user still exists, the
token's version is the current one, the role is the one the token names) is checked by
the first transaction the request opens: the check rides in the statement that opens
and scopes it (``Database._scoped``), so it costs no round trip of its own, and it runs
before any statement of the work. A transaction that cannot see the user's row (one
scoped to another user) is preceded by a transaction of the check alone.

The audit row of a request whose work ends with a read-only transaction for the audited
user, marked as the request's last (``Database.for_user(..., ends_request=True)`` that
wrote nothing, or ``Database.read_for_user``, whose callers write nothing), is written in
that transaction: at the end of its ``async with`` it is kept open
("parked") instead of committed, and the audit middleware inserts the row, with the
status of the response, and commits, in one round trip, before the response starts. A
transaction that wrote commits at once, as any other: code after it may rely on its
commit (files removed after their rows, keys destroyed first), and only the response
says what the audit row must record; its row is written by the middleware in a
transaction of its own, as is the row of a request that ran no transaction.

A request's state lives in a context variable set by the audit middleware; parking
happens only in the task that serves the request, never in a background task that
inherited the context (a vector cache load).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from photostore.errors import Unauthenticated


@dataclass(frozen=True)
class RevocationCheck:
    """What an access token claims that only the database can confirm."""

    user_id: uuid.UUID
    token_version: int
    role: str

    def statement(self) -> str:
        """The check, run after the scope is set so row-level security applies to it."""
        # Sent in the simple query protocol with the opening statement: the only value
        # spliced in is a ``uuid.UUID``'s canonical form.
        user_id = uuid.UUID(str(self.user_id))
        return f"SELECT token_version, role FROM users WHERE id = '{user_id}'"  # noqa: S608

    def verify(self, row: Any) -> None:
        """Raise :class:`Unauthenticated` unless ``row`` (token_version, role) confirms it."""
        if row is None or row[0] != self.token_version or row[1] != self.role:
            raise Unauthenticated("the token has been revoked")


@dataclass
class Parked:
    """A read-only transaction kept open for the audit row (see the module's notes)."""

    driver: Any  # psycopg.AsyncConnection: the audit row and COMMIT go in one pipeline
    release: Callable[[], Awaitable[None]]
    """Gives the connection back to the pool once the transaction has ended."""


@dataclass
class RequestState:
    task: asyncio.Task[Any] | None
    check: RevocationCheck | None = None
    check_failed: bool = False
    """The check could not confirm the token (revoked, or the database failed first): the
    request was never authenticated."""
    audit_owner: uuid.UUID | None = None
    parkable: bool = True
    parked: Parked | None = field(default=None, repr=False)

    @property
    def serves_this_task(self) -> bool:
        """Whether the running task is the request's own (not one that inherited it)."""
        return asyncio.current_task() is self.task

    def may_park(self, scope_user: uuid.UUID | None) -> bool:
        return (
            self.parkable
            and self.parked is None
            and scope_user is not None
            and scope_user == self.audit_owner
            and self.serves_this_task
        )


_current: ContextVar[RequestState | None] = ContextVar("photostore_request", default=None)


def begin_request() -> RequestState:
    """Start the database state of the request the calling task serves."""
    state = RequestState(task=asyncio.current_task())
    _current.set(state)
    return state


def current_request() -> RequestState | None:
    return _current.get()


def defer_revocation_check(check: RevocationCheck) -> bool:
    """Have the request's first transaction confirm ``check`` before its work runs; False
    when no request is being served (the caller must then check on its own)."""
    state = _current.get()
    if state is None:
        return False
    state.check = check
    return True


def audit_request_for(owner_id: uuid.UUID) -> None:
    """Name whose unit of work may carry the request's audit row."""
    state = _current.get()
    if state is not None:
        state.audit_owner = owner_id
