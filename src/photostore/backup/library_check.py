"""Check a whole data folder whose embedded cluster runs: every blob its rows reference
(decrypted and hashed, ``services.verification``) and the database (``pg_amcheck``,
page checksum failures). ``photostore verify`` and the drill both run it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from photostore.app import build_context, check_start
from photostore.config import Settings
from photostore.db.cluster_reads import LibraryRows, database_damage, read_library
from photostore.db.embedded import APP_ROLE, EmbeddedCluster
from photostore.services.verification import LibraryReport, verify_library


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
