"""The rows of ``audit_log``: one owner's trail, in the transaction of the caller, or
written with a request's parked unit of work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from photostore.db import models
from photostore.db.request import RequestState
from photostore.db.session import Database, driver_sql
from photostore.domain.audit import AuditEntry

# Every authenticated request writes a row: a plain INSERT into the table, built once (the
# ORM's unit of work, or a statement built per call, costs more than the row).
_AUDIT_TABLE = models.AuditEntry.metadata.tables[models.AuditEntry.__tablename__]
_INSERT_ROW = insert(_AUDIT_TABLE)
# The same INSERT as psycopg takes it, for the row committed with a request's unit of
# work in one pipeline (``Database.end_parked``).
_INSERT_ROW_SQL = driver_sql(
    insert(_AUDIT_TABLE).values(
        {column.name: bindparam(column.name) for column in _AUDIT_TABLE.columns}
    )
)

_COLUMNS = (
    models.AuditEntry.id,
    models.AuditEntry.at,
    models.AuditEntry.principal_id,
    models.AuditEntry.principal_kind,
    models.AuditEntry.key_id,
    models.AuditEntry.action,
    models.AuditEntry.target_type,
    models.AuditEntry.target_id,
    models.AuditEntry.result,
    models.AuditEntry.request_id,
)


class AuditRepository:
    """The audit trail of one owner (the user acted for), in ``session``'s transaction."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    async def add(self, entry: AuditEntry) -> None:
        """Write one entry of the owner's trail."""
        await self._session.execute(_INSERT_ROW, _row(self._owner_id, entry))

    async def page(self, limit: int, before: tuple[datetime, uuid.UUID] | None) -> list[AuditEntry]:
        """At most ``limit`` entries, newest first, from the one before ``before`` (``at``,
        ``id``) on."""
        stmt = select(*_COLUMNS).where(models.AuditEntry.owner_id == self._owner_id)
        if before is not None:
            stmt = stmt.where(tuple_(models.AuditEntry.at, models.AuditEntry.id) < tuple_(*before))
        stmt = stmt.order_by(models.AuditEntry.at.desc(), models.AuditEntry.id.desc()).limit(limit)
        return [AuditEntry(**row._mapping) for row in await self._session.execute(stmt)]


async def add_ending_parked(
    db: Database, request: RequestState, owner_id: uuid.UUID, entry: AuditEntry
) -> None:
    """Write one entry of ``owner_id``'s trail in the request's parked unit of work,
    committing it."""
    await db.end_parked(
        request, commit=True, statement=_INSERT_ROW_SQL, params=_row(owner_id, entry)
    )


async def write_nothing(session: AsyncSession) -> None:
    """Make ``session``'s transaction commit as a write's does (durably), writing nothing:
    a transaction id is assigned only to a transaction that writes, or asks for one."""
    await session.execute(text("SELECT pg_current_xact_id()"))


def _row(owner_id: uuid.UUID, entry: AuditEntry) -> dict[str, Any]:
    return {
        "owner_id": owner_id,
        "id": entry.id,
        "at": entry.at,
        "principal_id": entry.principal_id,
        "principal_kind": entry.principal_kind,
        "key_id": entry.key_id,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "result": entry.result,
        "request_id": entry.request_id,
    }
