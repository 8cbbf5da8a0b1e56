"""Check a whole data folder whose embedded cluster runs: every blob its rows reference
(decrypted and hashed, ``services.verification``) and the database (``pg_amcheck``,
page checksum failures). ``photostore verify`` and the drill both run it. And collect
its garbage (``services.garbage``), for ``photostore gc``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from photostore.config import Settings
from photostore.db.cluster_reads import (
    LibraryRows,
    database_damage,
    oldest_transaction_in,
    read_library,
)
from photostore.db.embedded import APP_ROLE, EmbeddedCluster
from photostore.db.session import Database, make_engine
from photostore.provider import build_context, check_start
from photostore.services.garbage import GarbageCollector, GarbageReport
from photostore.services.verification import LibraryReport, verify_library
from photostore.storage.local import LocalBlobStore


def check_library(
    settings: Settings,
    cluster: EmbeddedCluster,
    progress: Callable[[LibraryRows], Callable[[int], None] | None] = lambda rows: None,
) -> LibraryReport:
    """Verify the library of ``settings``' folder, whose cluster ``cluster`` runs;
    ``progress`` is given the rows to check and returns what counts each one done.

    The blob store is the service's own, built after the service's start checks (the
    schema, the master keys), so a blob that reads here reads for the service.
    """
    rows = read_library(cluster)
    ready = settings.model_copy(update={"database_url": cluster.url(APP_ROLE)})
    ctx = build_context(ready, asyncio.run(check_start(ready)))
    try:
        report = verify_library(ctx.blobs, rows, progress(rows))
    finally:
        asyncio.run(ctx.close())
    report.database = database_damage(cluster)
    return report


def collect_library_garbage(
    settings: Settings,
    cluster: EmbeddedCluster,
    grace_seconds: float,
    *,
    dry_run: bool,
    progress: Callable[[int], Callable[[int], None] | None] = lambda total: None,
) -> GarbageReport:
    """Collect the garbage of ``settings``' folder, whose cluster ``cluster`` runs, while
    the service may serve on it.

    The local store is used bare: removing needs no decryption (an encrypted blob has the
    key a plain one would), so no master key is asked for.
    """

    async def collect() -> GarbageReport:
        db = Database(make_engine(cluster.url(APP_ROLE), 2))
        try:
            collector = GarbageCollector(
                db,
                LocalBlobStore(settings.resolved_blob_dir),
                settings.staging_dir,
                lambda: oldest_transaction_in(cluster),
                grace_seconds,
                dry_run=dry_run,
            )
            return await collector.collect(read_library(cluster), progress)
        finally:
            await db.dispose()

    return asyncio.run(collect())
