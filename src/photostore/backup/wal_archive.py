"""Continuous archiving into a backup target while ``serve`` runs: WAL streamed into
``wal/`` as it is written, and blobs copied into ``objects/`` every
``backup_archive_seconds``, so that a restore can reach any time up to the archive's
horizon, not only the points.

A point-in-time restore needs, besides the WAL, the file of every image whose row it
replays. An upload stores its blob before its row commits, so a round that notes the
time ``t``, then copies every blob present, has copied the blob of every row committed
before ``t``; it then commits a transaction of its own (a commit record after ``t``, at
which a recovery to ``t`` or before stops) and waits until the receiver has flushed it.
Only then is ``t`` written as the new horizon (``wal/horizon``). ``wal/blobs.jsonl``
holds, one JSON document per line, each blob the archive copied: its key, object and
round time.

One process archives into a target: the one that holds ``wal/.lock``; the others try
again each round, and take over when it stops.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import anyio
import psycopg

from photostore.backup.blob_copy import BlobCopier
from photostore.backup.create import open_target
from photostore.backup.layout import StoredBlob, Target
from photostore.config import Settings
from photostore.db.embedded import DATABASE, held_cluster, superuser_connect
from photostore.db.wal_stream import (
    ReceiverStarter,
    archived_past,
    compress_finished_segments,
    drop_idle_archive_slot,
    mark_commit,
    prepare_archiving,
)
from photostore.private_files import private_folder, write_private_file
from photostore.storage.local import LocalBlobStore

log = logging.getLogger(__name__)

ARCHIVE_FOLDER = "wal"
INDEX_FILE = "blobs.jsonl"
HORIZON_FILE = "horizon"
FLUSH_WAIT_SECONDS = 30.0
_SEGMENT = re.compile(r"[0-9A-F]{24}(\.gz|\.partial)?")


@dataclass(frozen=True)
class ArchivedBlob:
    """A blob the archive copied, in the round of ``at``."""

    key: str
    blob: StoredBlob
    at: datetime


def read_index(target: Target) -> list[ArchivedBlob]:
    """The blobs ``wal/blobs.jsonl`` lists, oldest first."""
    path = target.root / ARCHIVE_FOLDER / INDEX_FILE
    if not path.is_file():
        return []
    found = []
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
            blob = StoredBlob(sha256=entry["sha256"], size=entry["size"])
            found.append(ArchivedBlob(entry["key"], blob, datetime.fromisoformat(entry["at"])))
        except (ValueError, KeyError):
            continue  # the torn last line of a round that died
    return found


def write_index(target: Target, blobs: list[ArchivedBlob]) -> None:
    """Replace the index with ``blobs`` (a prune's)."""
    write_private_file(
        target.root / ARCHIVE_FOLDER / INDEX_FILE, b"".join(_index_line(b) for b in blobs)
    )


def _index_line(entry: ArchivedBlob) -> bytes:
    body = {
        "key": entry.key,
        "sha256": entry.blob.sha256,
        "size": entry.blob.size,
        "at": entry.at.isoformat(),
    }
    return (json.dumps(body) + "\n").encode()


def read_horizon(target: Target) -> datetime | None:
    """The time up to which the archive restores, or None (no archive, or none yet)."""
    try:
        return datetime.fromisoformat((target.root / ARCHIVE_FOLDER / HORIZON_FILE).read_text())
    except (OSError, ValueError):
        return None


def archive_segments(target: Target) -> list[Path]:
    """The archived WAL: finished segments (gzip, or plain until the next round gzips
    them), the one being filled (``.partial``) and the timeline history files."""
    folder = target.root / ARCHIVE_FOLDER
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.iterdir()
        if _SEGMENT.fullmatch(path.name) or path.name.endswith(".history")
    )


def release_unused_slot(settings: Settings) -> None:
    """At a start of ``serve`` that does not archive: drop the slot an earlier archiving
    start left, so that the server does not keep WAL for a receiver that will not come."""
    cluster = held_cluster(settings.embedded_pgdata)
    with superuser_connect(cluster, DATABASE) as conn:
        conn.autocommit = True
        if drop_idle_archive_slot(conn):
            log.info("dropped the continuous archive's slot: archiving is off")


@contextlib.contextmanager
def objects_lock(target: Target) -> Iterator[None]:
    """Held while the archive adds objects and while a prune removes them, so a prune
    never removes an object whose index line is about to be written."""
    with (target.root / ".objects.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class WalArchive:
    """The continuous archive of one ``serve`` process into the backup target."""

    def __init__(self, settings: Settings) -> None:
        assert settings.backup_target is not None
        self._settings = settings
        self._target = Target(settings.backup_target)
        self._folder = self._target.root / ARCHIVE_FOLDER
        self._lock: IO[str] | None = None
        self._receiver: subprocess.Popen[bytes] | None = None
        self._copier: BlobCopier | None = None
        self._index_inode: int | None = None
        self._starter = ReceiverStarter()
        # A round abandoned at a stop may still run: it must not start a receiver or
        # write a horizon after close(), which waits for it.
        self._closing = threading.Event()
        self._round = threading.Lock()

    async def run(self, every_seconds: float) -> None:
        """A round every ``every_seconds`` until cancelled; then the receiver stops."""
        try:
            while True:
                try:
                    await anyio.to_thread.run_sync(self.sync, abandon_on_cancel=True)
                except (OSError, RuntimeError, psycopg.Error):
                    log.exception("a round of the continuous archive failed; trying again")
                await anyio.sleep(every_seconds)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.close)

    def sync(self) -> None:
        """One round: keep the receiver running, copy new blobs, advance the horizon."""
        with self._round:
            if not self._closing.is_set():
                self._sync()

    def _sync(self) -> None:
        target = open_target(self._settings, self._target.root)
        if not self._hold_lock():
            return
        cluster = held_cluster(self._settings.embedded_pgdata)
        with superuser_connect(cluster, DATABASE) as conn:
            conn.autocommit = True
            if self._receiver is None or self._receiver.poll() is not None:
                if self._receiver is not None:
                    code = self._receiver.returncode
                    log.warning("the WAL receiver stopped (exit %s); starting it again", code)
                prepare_archiving(cluster, conn)
                self._receiver = self._starter.start(cluster, self._folder, self._folder / ".log")
            compress_finished_segments(self._folder)
            began = datetime.now(UTC)
            self._copy_new_blobs(target, began)
            lsn = mark_commit(conn)
            deadline = time.monotonic() + FLUSH_WAIT_SECONDS
            while not archived_past(conn, lsn):
                if time.monotonic() > deadline or self._receiver.poll() is not None:
                    log.warning("the WAL receiver has not archived %s yet; the horizon waits", lsn)
                    return
                time.sleep(0.05)
        write_private_file(self._folder / HORIZON_FILE, began.isoformat().encode())

    def _copy_new_blobs(self, target: Target, at: datetime) -> None:
        with objects_lock(target):
            copier = self._current_copier(target)
            before = set(copier.copied)
            copier.copy(copier.present_keys(), gone_ok=True)
            new = [
                ArchivedBlob(key, blob, at)
                for key, blob in copier.copied.items()
                if key not in before
            ]
            if new:
                with (self._folder / INDEX_FILE).open("ab") as index:
                    index.writelines(_index_line(entry) for entry in new)
                    index.flush()
                    os.fsync(index.fileno())
                self._index_inode = (self._folder / INDEX_FILE).stat().st_ino

    def _current_copier(self, target: Target) -> BlobCopier:
        """The copier, knowing what the index lists; made again when a prune has
        rewritten the index (the objects of the entries it dropped may be gone)."""
        index_path = self._folder / INDEX_FILE
        inode = index_path.stat().st_ino if index_path.exists() else None
        if self._copier is None or inode != self._index_inode:
            listed = {entry.key: entry.blob for entry in read_index(target)}
            points = target.points()
            # Blobs the newest point holds need not be read again, only indexed.
            known = {**(points[-1].blobs if points else {}), **listed}
            blobs = LocalBlobStore(self._settings.resolved_blob_dir)
            self._copier = BlobCopier(blobs, target, known)
            self._copier.copied.update(listed)
            self._index_inode = inode
        return self._copier

    def _hold_lock(self) -> bool:
        if self._lock is not None:
            return True
        private_folder(self._folder)
        handle = (self._folder / ".lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock = handle
        return True

    def close(self) -> None:
        """Stop the receiver (it flushes what it has) and let go of the lock, once the
        round that may be running has ended."""
        self._closing.set()
        self._round.acquire(timeout=FLUSH_WAIT_SECONDS + 30)
        if self._receiver is not None and self._receiver.poll() is None:
            self._receiver.terminate()
            try:
                self._receiver.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._receiver.kill()
        self._starter.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None
