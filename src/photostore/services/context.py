"""The collaborators every service receives, built in one place for routes, CLI and jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from photostore.config import Settings
from photostore.db.session import Database
from photostore.search.cache import VectorCache
from photostore.storage.base import BlobStore


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

    async def close(self) -> None:
        """Release the database pool and whatever else the context holds."""
        if self.vector_cache is not None:
            await self.vector_cache.close()
        await self.db.dispose()
        for close in self.closers:
            close()
