"""``photostore gc``: remove what no row references, never what an upload will.

Collected once older than the grace period:

* orphan originals and thumbnails, the blobs no row references
  (``services.verification.orphan_keys``): an upload killed between writing its files and
  committing its rows leaves them, and so does a purge whose commit failed;
* partial writes of the local store (``.tmp-*``), left by a crash before their rename,
  and the chunk sums of plain blobs whose blob was never written (sums are written
  first); an orphan's own sums go with it;

and at once, whatever their age, the staging folders of dead processes
(``services.staging_area``: their lock says their process is gone).

A snapshot of the rows is not enough to remove an orphan: an upload in flight may be
about to reference it.

* An original's key is its content address, so an upload of the same bytes writes the
  same key again and then commits its row. Each orphan original is checked again in a
  transaction holding the upload's own content lock (``ImageRepository.lock_content``,
  then ``holds_original``, as ``services.ingest`` does). An upload holds that lock from
  before it writes the file until its rows commit, so under it the file is referenced by
  a committed row or by nobody, and it is removed before the lock is let go.
* A thumbnail's key names a new image id, which only the upload that wrote it can commit,
  inside a transaction open from before the write until the commit. A thumbnail is
  removed only when it was written before the oldest transaction still open began (so
  none of them wrote it) and a read after that finds no image of its id. A thumbnail of
  an image that exists is kept: the next read of that thumbnail remakes and records it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from pathlib import Path

import anyio

from photostore.db.cluster_reads import LibraryRows
from photostore.db.repositories.images import ImageRepository
from photostore.db.session import Database
from photostore.errors import NotFound
from photostore.services.staging_area import StagingSweep, sweep_staging
from photostore.services.verification import orphan_keys
from photostore.storage.base import BlobNotFound
from photostore.storage.checksummed import SUMS_PREFIX, sums_key
from photostore.storage.local import LocalBlobStore

# File times come from the kernel's coarse clock (a few milliseconds behind the clock
# PostgreSQL stamps a transaction's start with): a file written just after its
# transaction began can look older than it. A second covers that many times over.
_CLOCK_SLACK_SECONDS = 1.0


class Verdict(Enum):
    """What became of one candidate."""

    REMOVED = "removed"
    YOUNG = "young"
    IN_USE = "in use"
    GONE = "gone"


@dataclass
class GarbageReport:
    """What a collection removed (or, in a dry run, would remove) and what it kept."""

    originals: int = 0
    thumbnails: int = 0
    partial_writes: int = 0
    bytes: int = 0
    young: int = 0
    """Orphans and partial writes within the grace period, kept."""
    in_use: int = 0
    """Orphans an upload or an image may still reference, kept."""
    unknown: list[str] = field(default_factory=list)
    """Keys of neither blob layout: not photostore's, left alone."""
    staging: StagingSweep = field(default_factory=StagingSweep)


@dataclass(frozen=True)
class _Orphan:
    key: str
    owner_id: uuid.UUID
    sha256: str | None  # an original's
    image_id: uuid.UUID | None  # a thumbnail's
    kind: str | None
    byte_size: int


def _parse(key: str, byte_size: int) -> _Orphan | None:
    """An orphan's owner and content (``storage.base``'s key layouts), None for any other
    key."""
    parts = key.split("/")
    try:
        if len(parts) == 4 and parts[0] == "originals" and parts[2] == parts[3][:2]:
            return _Orphan(key, uuid.UUID(parts[1]), parts[3], None, None, byte_size)
        if len(parts) == 4 and parts[0] == "derivatives":
            owner, image = uuid.UUID(parts[1]), uuid.UUID(parts[2])
            return _Orphan(key, owner, None, image, parts[3], byte_size)
    except ValueError:
        return None
    return None


class GarbageCollector:
    """One collection over a data folder's local store (see the module's docstring).

    ``open_since`` answers when the oldest transaction still open on the database began
    (None: none is); ``progress`` is given the number of candidates and returns what
    counts each one done.
    """

    def __init__(
        self,
        db: Database,
        store: LocalBlobStore,
        staging_root: Path,
        open_since: Callable[[], datetime | None],
        grace_seconds: float,
        *,
        dry_run: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.store = store
        self.staging_root = staging_root
        self.open_since = open_since
        self.grace_seconds = grace_seconds
        self.dry_run = dry_run
        self.clock = clock

    async def collect(
        self,
        rows: LibraryRows,
        progress: Callable[[int], Callable[[int], None] | None] = lambda total: None,
    ) -> GarbageReport:
        """Collect what ``rows`` (a snapshot of every blob row) leave unreferenced."""
        report = GarbageReport()
        unreferenced = await anyio.to_thread.run_sync(orphan_keys, self.store, rows)
        orphans, stray_sums, report.unknown = await anyio.to_thread.run_sync(
            self._sort, unreferenced
        )
        partials = await anyio.to_thread.run_sync(self.store.partial_writes)
        # Read after the listing: a transaction open now that began after a file was
        # written did not write it.
        oldest = await anyio.to_thread.run_sync(self.open_since)
        done = progress(len(orphans) + len(partials))
        for orphan in orphans:
            if orphan.sha256 is not None:
                verdict = await self._original(orphan, orphan.sha256)
            else:
                verdict = await self._thumbnail(orphan, oldest)
            _count(report, orphan, verdict)
            if done is not None:
                done(1)
        report.partial_writes += await self._remove_stray_sums(stray_sums)
        for partial in partials:
            if self._young(partial.modified):
                report.young += 1
            else:
                if not self.dry_run:
                    await anyio.to_thread.run_sync(self.store.remove_partial_write, partial)
                report.partial_writes += 1
                report.bytes += partial.byte_size
            if done is not None:
                done(1)
        report.staging = await anyio.to_thread.run_sync(
            lambda: sweep_staging(self.staging_root, dry_run=self.dry_run)
        )
        return report

    def _sort(self, unreferenced: list[str]) -> tuple[list[_Orphan], list[str], list[str]]:
        """The orphan blobs, the chunk sums whose blob is not there at all (a write
        killed between the two: sums are written first) and the keys of no layout.
        Sums of a blob that is there go with their blob, and are left out."""
        orphans, stray_sums, unknown = [], [], []
        for key in unreferenced:
            if key.startswith(SUMS_PREFIX):
                if not self.store.exists(key.removeprefix(SUMS_PREFIX)):
                    stray_sums.append(key)
                continue
            orphan = _parse(key, _size_or_zero(self.store, key))
            if orphan is None:
                unknown.append(key)
            else:
                orphans.append(orphan)
        return orphans, stray_sums, unknown

    async def _remove_stray_sums(self, keys: list[str]) -> int:
        removed = 0
        for key in keys:
            modified = await self._modified(key)
            if modified is not None and not self._young(modified):
                if not self.dry_run:
                    await anyio.to_thread.run_sync(self.store.delete, key)
                removed += 1
        return removed

    def _young(self, modified: float) -> bool:
        return modified > self.clock() - self.grace_seconds

    async def _modified(self, key: str) -> float | None:
        try:
            return await anyio.to_thread.run_sync(self.store.modified, key)
        except BlobNotFound:
            return None

    async def _remove(self, key: str) -> None:
        if not self.dry_run:
            await anyio.to_thread.run_sync(self.store.delete, key)
            await anyio.to_thread.run_sync(self.store.delete, sums_key(key))

    async def _original(self, orphan: _Orphan, sha256: str) -> Verdict:
        async with self.db.for_user(orphan.owner_id) as session:
            images = ImageRepository(session, orphan.owner_id)
            await images.lock_content(sha256)
            if await images.holds_original(sha256):
                return Verdict.IN_USE  # an upload committed since the snapshot
            # Under the lock no upload of these bytes is between its write and its
            # commit, so the file's time is that of the last write that will ever count.
            modified = await self._modified(orphan.key)
            if modified is None:
                return Verdict.GONE
            if self._young(modified):
                return Verdict.YOUNG
            await self._remove(orphan.key)
            return Verdict.REMOVED

    async def _thumbnail(self, orphan: _Orphan, oldest: datetime | None) -> Verdict:
        assert orphan.image_id is not None and orphan.kind is not None
        modified = await self._modified(orphan.key)
        if modified is None:
            return Verdict.GONE
        if self._young(modified):
            return Verdict.YOUNG
        if oldest is not None and modified >= oldest.timestamp() - _CLOCK_SLACK_SECONDS:
            return Verdict.IN_USE  # its writer may be a transaction still open
        async with self.db.for_user(orphan.owner_id) as session:
            images = ImageRepository(session, orphan.owner_id)
            if await images.thumbnail(orphan.image_id, orphan.kind) is not None:
                return Verdict.IN_USE
            try:
                await images.get(orphan.image_id)
            except NotFound:
                await self._remove(orphan.key)
                return Verdict.REMOVED
            return Verdict.IN_USE  # its image exists: a remake will record it


def _size_or_zero(store: LocalBlobStore, key: str) -> int:
    try:
        return store.size(key)
    except BlobNotFound:
        return 0


def _count(report: GarbageReport, orphan: _Orphan, verdict: Verdict) -> None:
    if verdict is Verdict.REMOVED:
        if orphan.sha256 is not None:
            report.originals += 1
        else:
            report.thumbnails += 1
        report.bytes += orphan.byte_size
    elif verdict is Verdict.YOUNG:
        report.young += 1
    elif verdict is Verdict.IN_USE:
        report.in_use += 1
