"""Bring the database up for a process: embedded or external, migrated to the newest schema."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from photostore.config import Settings
from photostore.db.embedded import (
    APP_ROLE,
    OWNER_ROLE,
    EmbeddedCluster,
    ensure_database,
    server_os_user,
    start_cluster,
)
from photostore.db.migrate import upgrade_to_head
from photostore.private_files import FOLDER_MODE, private_folder, tighten_folder

log = logging.getLogger(__name__)


def schema_owner_url(settings: Settings, cluster: EmbeddedCluster | None) -> str:
    """The URL ``photostore migrate`` connects with: the embedded owner role, else
    ``PHOTOSTORE_MIGRATION_DATABASE_URL``, else (run by hand) ``PHOTOSTORE_DATABASE_URL``."""
    if cluster is not None:
        return cluster.url(OWNER_ROLE)
    url = settings.migration_database_url or settings.database_url
    assert url is not None
    return url


@contextmanager
def database_runtime(settings: Settings, *, migrate: bool = True) -> Iterator[Settings]:
    """Settings whose ``database_url`` points at a ready, migrated database.

    With no ``database_url`` the embedded cluster in the data folder is started (or
    joined, if another photostore process runs it) and let go of on exit.
    """
    with database_and_cluster(settings, migrate=migrate) as (ready, _):
        yield ready


@contextmanager
def database_and_cluster(
    settings: Settings, *, migrate: bool = True
) -> Iterator[tuple[Settings, EmbeddedCluster | None]]:
    """:func:`database_runtime`, with the embedded cluster it runs on (None for an
    external database), for ``serve`` to supervise (``db.supervisor``).

    An external database is migrated only with the owner's URL
    (``PHOTOSTORE_MIGRATION_DATABASE_URL``): the service role may not change the schema,
    and the service's start check names the command that migrates an older one."""
    if not settings.uses_embedded_database:
        assert settings.database_url is not None
        if migrate and settings.migration_database_url is not None:
            upgrade_to_head(settings.migration_database_url)
        yield settings, None
        return
    private_folder(settings.data_dir)
    cluster = start_cluster(settings.embedded_pgdata)
    # Run as root, the wheel opens every folder above pgdata to its server account
    # (g+rx, o+rx); the data folder needs only o+x for that: nobody else lists it.
    tighten_folder(settings.data_dir, FOLDER_MODE if server_os_user() is None else 0o711)
    try:
        ensure_database(cluster)
        if migrate:
            upgrade_to_head(cluster.url(OWNER_ROLE))
        yield settings.model_copy(update={"database_url": cluster.url(APP_ROLE)}), cluster
    finally:
        log.info("letting go of the embedded PostgreSQL")
        cluster.stop()
