"""The collaborators every service receives, built in one place for routes, CLI and jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import anyio

from photostore.auth.passwords import Passwords
from photostore.auth.ratelimit import LoginLimiter
from photostore.config import Settings
from photostore.db.session import Database
from photostore.search.cache import VectorCache
from photostore.services.decoding import DecodeSlots
from photostore.services.hashing import PasswordHashing
from photostore.services.staging_area import StagingArea
from photostore.storage.base import BlobStore
from photostore.storage.space import FreeSpace


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ServiceContext:
    """Database, blob store, settings and clock: everything a service may touch."""

    settings: Settings
    db: Database
    blobs: BlobStore
    clock: Callable[[], datetime] = field(default=utc_now)
    vector_cache: VectorCache | None = None
    """Large spaces as in-memory matrices (``search.cache``); None searches in PostgreSQL."""
    closers: tuple[Callable[[], None], ...] = ()
    """Called by :meth:`close` after the database: resources the blob store holds."""
    staging: StagingArea | None = None
    """The serving process's staging folder (``services.staging_area``), released by
    :meth:`close`; None in a context that stages nothing (the CLI's)."""
    decode_slots: DecodeSlots = field(init=False)
    """How many images this process decodes at once (``services.decoding``)."""
    passwords: PasswordHashing = field(init=False)
    """Password hashes and checks, a few at once (``services.hashing``)."""
    login_limiter: LoginLimiter = field(init=False)
    """Failed logins counted per email and per address (``auth.ratelimit``)."""
    free_space: FreeSpace = field(init=False)
    """The room an upload may take on the disks of the staging folder, the blob store and
    the embedded database, above ``PHOTOSTORE_MIN_FREE_DISK_MB`` (``storage.space``)."""

    def __post_init__(self) -> None:
        # One per context, so one per process: every request's services share them.
        settings = self.settings
        slots = DecodeSlots(settings.max_concurrent_decodes, settings.decode_wait_seconds)
        object.__setattr__(self, "decode_slots", slots)  # the dataclass is frozen
        passwords = PasswordHashing(
            Passwords(settings.password_hash_memory_kib, settings.password_hash_time_cost),
            settings.max_concurrent_password_hashes,
            settings.password_hash_wait_seconds,
        )
        object.__setattr__(self, "passwords", passwords)
        limiter = LoginLimiter(
            settings.login_max_failures,
            settings.login_max_failures_per_address,
            settings.login_window_seconds,
        )
        object.__setattr__(self, "login_limiter", limiter)
        folders = (settings.staging_dir, settings.resolved_blob_dir, settings.embedded_pgdata)
        object.__setattr__(self, "free_space", FreeSpace.of(folders, settings.min_free_disk_mb))

    def staging_folder(self) -> Path:
        """Where this process stages plaintext files (uploads, originals being read)."""
        if self.staging is None:
            raise RuntimeError("this service context has no staging folder")
        return self.staging.folder

    async def close(self) -> None:
        """Release the database pool and whatever else the context holds."""
        if self.vector_cache is not None:
            await self.vector_cache.close()
        await self.db.dispose()
        for close in self.closers:
            close()
        if self.staging is not None:
            await anyio.to_thread.run_sync(self.staging.release)
