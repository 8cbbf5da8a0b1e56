"""The audit log: one row per operation, and a user's own trail, newest first.

Rows hold who (principal id and kind, API key id), for whom (``owner_id``), what (the
method and route template, e.g. ``GET /v1/images/{image_id}/content``), on what (the
target's type and id from the path), the HTTP status and the request id. Never bodies,
query strings, file contents, names, emails or secrets: nothing a route receives beyond
ids in its path can reach this table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from photostore.db.repositories.audit import AuditRepository, add_ending_parked, write_nothing
from photostore.db.request import current_request
from photostore.domain.audit import AuditEntry
from photostore.ids import new_id
from photostore.services.context import ServiceContext
from photostore.services.pagination import check_limit, decode_cursor, encode_cursor


@dataclass(frozen=True)
class AuditSubject:
    """Whom a request is audited against, known once it is authenticated."""

    owner_id: uuid.UUID
    principal_id: uuid.UUID
    principal_kind: str
    key_id: uuid.UUID | None = None


@dataclass(frozen=True)
class AuditEvent:
    action: str
    target_type: str | None
    target_id: str | None
    result: int
    request_id: str | None


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditEntry]
    next_cursor: str | None


def _stored(value: str, limit: int) -> str:
    """``value`` as an audit column keeps it: at most ``limit`` characters, NUL (which a
    path can carry as ``%00`` and PostgreSQL cannot store) as U+FFFD. A row that cannot
    be written turns the request's answer into a 500."""
    return value[:limit].replace("\x00", "\ufffd")


class AuditService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def record(self, subject: AuditSubject, event: AuditEvent) -> None:
        """Write one row, scoped to the user acted for: in the request's parked unit of
        work if it has one (committing it), else in a transaction of its own."""
        entry = AuditEntry(
            id=new_id(),
            at=self.ctx.clock(),
            principal_id=subject.principal_id,
            principal_kind=subject.principal_kind,
            key_id=subject.key_id,
            action=_stored(event.action, 300),
            target_type=_stored(event.target_type, 64) if event.target_type else None,
            target_id=_stored(event.target_id, 200) if event.target_id else None,
            result=event.result,
            request_id=event.request_id,
        )
        request = current_request()
        if request is not None:
            request.parkable = False
            if request.parked is not None and request.audit_owner == subject.owner_id:
                await add_ending_parked(self.ctx.db, request, subject.owner_id, entry)
                return
        async with self.ctx.db.for_user(subject.owner_id) as session:
            await AuditRepository(session, subject.owner_id).add(entry)

    async def decoy(self) -> None:
        """As costly as :meth:`record` (a transaction with a durable commit), writing
        nothing: a failed login for an unknown email must take as long as one for a
        known email, whose failure is recorded."""
        async with self.ctx.db.for_system() as session:
            await write_nothing(session)

    async def trail(self, owner_id: uuid.UUID, limit: int, cursor: str | None) -> AuditPage:
        """The owner's audit rows, newest first, in keyset pages."""
        check_limit(limit)
        before = decode_cursor(cursor) if cursor is not None else None
        async with self.ctx.db.for_user(owner_id) as session:
            rows = await AuditRepository(session, owner_id).page(limit + 1, before)
        more = len(rows) > limit
        rows = rows[:limit]
        last = rows[-1] if more else None
        return AuditPage(
            items=rows, next_cursor=encode_cursor(last.at, last.id) if last is not None else None
        )
