"""The one provider of service contexts: database, blob store and vector cache for the
API (``app.py``), the commands and the jobs alike, and the checks a start makes first.

Apart from ``app.py`` so that a command builds its context without importing the web
framework and the routes.
"""

from __future__ import annotations

from collections.abc import Callable

from photostore.config import Settings
from photostore.crypto.datakeys import DataKeys
from photostore.crypto.masterkeys import MasterKeyring, keyring_for
from photostore.db.checks import refuse_unfit_database
from photostore.db.session import Database, make_engine
from photostore.search.cache import VectorCache
from photostore.services.context import ServiceContext
from photostore.services.master_keys import checked_keyring
from photostore.services.staging_area import StagingArea
from photostore.storage.base import BlobStore
from photostore.storage.checksummed import ChecksummedBlobStore
from photostore.storage.encrypted import EncryptedBlobStore
from photostore.storage.local import LocalBlobStore


def build_blob_store(
    settings: Settings, keyring: MasterKeyring | None = None
) -> tuple[BlobStore, tuple[Callable[[], None], ...]]:
    """The blob store the settings name (encrypting unless turned off), and its closers.

    ``keyring`` is the checked one of :func:`open_context`; without it the settings'
    keyring is read (and its key file made if missing).
    """
    store = LocalBlobStore(settings.resolved_blob_dir)
    if not settings.encrypt_blobs:
        # Plain blobs carry chunk checksums of their own; encrypted ones are authenticated.
        return ChecksummedBlobStore(store), ()
    assert settings.database_url is not None
    ring = keyring if keyring is not None else keyring_for(settings)
    keys = DataKeys.connect(settings.database_url, ring, settings.database_pool_size)
    return EncryptedBlobStore(store, keys), (keys.close,)


def build_context(
    settings: Settings, keyring: MasterKeyring | None = None, staging: StagingArea | None = None
) -> ServiceContext:
    """Database and blob store for ``settings``: the one provider for API, CLI and jobs.

    ``staging`` is the serving process's staging folder; the context releases it."""
    if settings.database_url is None:
        raise ValueError("settings.database_url is not set; start the embedded database first")
    engine = make_engine(settings.database_url, settings.database_pool_size)
    blobs, closers = build_blob_store(settings, keyring)
    db = Database(engine)
    cache = (
        VectorCache(
            db,
            settings.vector_cache_mb * 1024 * 1024,
            settings.vector_cache_min_vectors,
            settings.vector_cache_refresh_seconds,
        )
        if settings.vector_cache_mb > 0
        else None
    )
    return ServiceContext(
        settings=settings,
        db=db,
        blobs=blobs,
        closers=closers,
        vector_cache=cache,
        staging=staging,
    )


async def check_start(settings: Settings) -> MasterKeyring | None:
    """The start's checks, on a connection of their own: the database is one photostore
    may run on (``db.checks``), and every master key its data keys need is configured
    (``services.master_keys``: no key file is made for a database that holds data keys).
    Returns the checked keyring (None when blobs are not encrypted)."""
    if settings.database_url is None:
        raise ValueError("settings.database_url is not set; start the embedded database first")
    engine = make_engine(settings.database_url, 1)
    try:
        await refuse_unfit_database(engine)
        return await checked_keyring(settings, Database(engine)) if settings.encrypt_blobs else None
    finally:
        await engine.dispose()


async def open_context(settings: Settings, staging: StagingArea | None = None) -> ServiceContext:
    """:func:`build_context` after :func:`check_start`."""
    return build_context(settings, await check_start(settings), staging)
