"""Deletions that survive a restore: re-apply the deletion log to the database and blobs.

A restore (today's ``pg_restore`` of an online dump, a cold copy, and the backups of issue
15) puts back the database and blobs as they were when the backup was taken, with every
account deleted since. :func:`reapply_deletions` deletes them again, the same way
``DELETE /v1/users/me`` does (data key first, then rows, then files), from the deletion
log in the keys folder (``crypto.deletion_log``), which a restore does not replace.

``serve`` runs it on every start, before answering a request, so a restored database
never serves a deleted account; ``photostore deletions apply`` runs it on demand (after
restoring blobs alone, or before handing a restored folder to someone).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import anyio

from photostore.crypto.deletion_log import Deletion, deletion_log_path, read_deletions
from photostore.db.repositories.users import UserRepository
from photostore.services.context import ServiceContext
from photostore.services.users import UserService, delete_blobs_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reapplied:
    """What re-applying the log found: accounts a restore had brought back, deleted
    again, and how many deletions the log holds in all."""

    accounts: tuple[uuid.UUID, ...]
    logged: int


async def reapply_deletions(ctx: ServiceContext) -> Reapplied:
    """Delete again every logged account the database holds; remove their blobs.

    Blobs are removed for every logged account, found in the database or not: a blob
    folder restored apart from the database brings files back without rows. Running it
    twice changes nothing the second time.
    """
    logged = [d.user_id for d in await anyio.to_thread.run_sync(_read, ctx)]
    if not logged:
        return Reapplied(accounts=(), logged=0)
    async with ctx.db.for_system() as session:
        present = await UserRepository(session).ids(among=logged)
    users = UserService(ctx)
    for user_id in present:
        log.warning("deleting again account %s: deleted, then brought back by a restore", user_id)
        await users.delete(user_id)
    for user_id in logged:
        await anyio.to_thread.run_sync(delete_blobs_of, ctx.blobs, user_id)
    return Reapplied(accounts=tuple(present), logged=len(logged))


def _read(ctx: ServiceContext) -> list[Deletion]:
    return read_deletions(deletion_log_path(ctx.settings))
