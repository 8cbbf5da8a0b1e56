"""``photostore backup create``: an online backup of a data folder into a target folder.

The order is what makes the point consistent while the service keeps serving:

1. every blob present now is copied (by content: what the target holds is skipped);
2. a base backup of the cluster, incremental against the previous point when the server
   has summarized WAL since, else full;
3. every table locked in ``SHARE`` mode (writes wait, reads go on) for as long as it
   takes to count the rows, list the blobs, copy the blobs new since step 1 and make the
   named restore point; an upload acknowledged before the lock is in the point, with its
   file, and nothing the point references can be purged before it is copied;
4. the WAL from the base backup's start to the point, then the manifest, last: a point
   without a manifest does not exist, so a backup that fails anywhere (the target gone,
   the disk full) leaves the earlier points as they were.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from photostore.backup.blob_copy import BlobCopier
from photostore.backup.layout import (
    BackupRefused,
    Manifest,
    StoredBlob,
    Target,
    file_sha256,
    point_id,
)
from photostore.config import Settings
from photostore.db.cluster_reads import StoredOriginal, StoredThumbnail
from photostore.db.embedded import EmbeddedCluster, start_cluster
from photostore.db.physical_backup import BackupSession, wal_start_file
from photostore.db.programs import PostgresProgramFailed
from photostore.private_files import write_private_file
from photostore.storage.base import derivative_key, original_key
from photostore.storage.checksummed import sums_key
from photostore.storage.local import LocalBlobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackupDone:
    manifest: Manifest
    base_bytes: int
    blob_bytes_copied: int


def referenced_keys(
    originals: list[StoredOriginal], thumbnails: list[StoredThumbnail]
) -> list[str]:
    """The blob keys the database rows reference."""
    keys = [original_key(str(o.owner_id), o.sha256) for o in originals]
    keys += [derivative_key(str(t.owner_id), str(t.image_id), t.kind) for t in thumbnails]
    return keys


def with_chunk_sums(keys: list[str], stored: dict[str, StoredBlob]) -> dict[str, StoredBlob]:
    """The objects of ``keys`` in ``stored``, with their chunk sums where ``stored`` has
    them (plain blobs: without them a restored folder would check each original whole on
    its first read and make each thumbnail again)."""
    found = {key: stored[key] for key in keys}
    found.update({sums_key(key): stored[sums_key(key)] for key in keys if sums_key(key) in stored})
    return found


KNOWN_TARGETS = "backup-targets.json"


def open_target(settings: Settings, root: Path) -> Target:
    """The backup folder ``root`` for the data folder of ``settings``: made a target when
    new, but never made again where this data folder has backed up before. A folder that
    held its backups and has lost its marker is most often a disk that is not mounted; a
    new target there would quietly fill the disk below the mount point."""
    known_file = settings.data_dir / KNOWN_TARGETS
    lock = os.open(settings.data_dir / f".{KNOWN_TARGETS}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        # The schedule and the archive of one serve open the target at the same start.
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _open_known_target(known_file, root)
    finally:
        os.close(lock)


def _open_known_target(known_file: Path, root: Path) -> Target:
    try:
        known: dict[str, str] = json.loads(known_file.read_text())
    except FileNotFoundError:
        known = {}
    name = str(root.resolve())
    target = Target(root)
    if name in known:
        try:
            target.check()
        except BackupRefused as exc:
            raise BackupRefused(
                f"{root} held this data folder's backups and is no backup folder now: if "
                "it is on a disk that is not mounted, mount it; to start a new backup "
                f"folder there, remove its line from {known_file}"
            ) from exc
        if target.identity() != known[name]:
            raise BackupRefused(
                f"{root} is another backup folder than the one this data folder backed up "
                f"into (its id changed); to use it, remove its line from {known_file}"
            )
        return target
    target.create()
    known[name] = target.identity()
    write_private_file(known_file, json.dumps(known, indent=1).encode())
    return target


def create_backup(
    settings: Settings,
    target: Target,
    say: Callable[[str], None] = log.info,
    full_every: int | None = None,
    cluster: EmbeddedCluster | None = None,
) -> BackupDone:
    """Back the data folder of ``settings`` up into ``target`` as a new point.

    The point is incremental on the newest one unless that one's chain already holds
    ``full_every`` points (None: no limit): a chain that grows for ever would keep every
    point it builds on from being pruned, and make each restore combine them all. The
    cluster is started (or joined) for the backup unless ``cluster`` is given.
    """
    if not settings.uses_embedded_database:
        raise BackupRefused(
            "photostore backup create backs up the embedded database; an external "
            "PostgreSQL is backed up by its operator's tools (docs/operations.md)"
        )
    began = time.monotonic()
    now = datetime.now(UTC)
    new_id = point_id(now)
    previous = target.points()
    newest = previous[-1] if previous else None
    last = newest
    if last is not None and full_every is not None and len(last.chain) >= full_every:
        last = None
    folder = target.point_folder(new_id)
    try:
        with target.locked():
            folder.mkdir(parents=True)
            copier = BlobCopier(
                LocalBlobStore(settings.resolved_blob_dir),
                target,
                newest.blobs if newest is not None else {},
            )
            present = copier.present_keys()
            say(f"copying {len(present)} blobs present now")
            copier.copy(present)
            if cluster is None:
                cluster = start_cluster(settings.embedded_pgdata)
            try:
                with BackupSession.open(cluster, f"photostore_backup_{new_id.lower()}") as session:
                    fresh_summaries = session.turn_on_wal_summaries()
                    kind, chain = _base_backup(session, target, folder, last, fresh_summaries, say)
                    say("locking writes for the restore point")

                    def copy_new(
                        originals: list[StoredOriginal], thumbnails: list[StoredThumbnail]
                    ) -> None:
                        keys = referenced_keys(originals, thumbnails)
                        copier.copy(keys)
                        # Plain blobs' chunk sums (none where blobs are encrypted).
                        copier.copy(map(sums_key, keys), gone_ok=True)

                    point = session.mark_consistent_point(f"photostore_{new_id}", copy_new)
                    first = wal_start_file(folder / "base")
                    wal_names = session.copy_wal(first, point.wal_file, folder / "wal")
            finally:
                cluster.stop()
            referenced = referenced_keys(point.originals, point.thumbnails)
            manifest = Manifest(
                id=new_id,
                created_at=now,
                kind=kind,
                chain=[*chain, new_id],
                restore_point=point.name,
                lsn=point.lsn,
                wal={name: file_sha256(folder / "wal" / name) for name in wal_names},
                base_manifest_sha256=file_sha256(folder / "base" / "backup_manifest"),
                row_counts=point.row_counts,
                master_key_ids=point.master_key_ids,
                blobs=with_chunk_sums(referenced, copier.copied),
                seconds=round(time.monotonic() - began, 3),
            )
            # A target on a disk that went away may leave an empty mount point behind,
            # which the copies above would have filled: no point is named there.
            target.check()
            target.write_manifest(manifest)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    base_bytes = sum(p.stat().st_size for p in (folder / "base").rglob("*") if p.is_file())
    return BackupDone(
        manifest=manifest, base_bytes=base_bytes, blob_bytes_copied=copier.bytes_copied
    )


def _base_backup(
    session: BackupSession,
    target: Target,
    folder: Path,
    last: Manifest | None,
    fresh_summaries: bool,
    say: Callable[[str], None],
) -> tuple[str, list[str]]:
    """Take the base backup: incremental on ``last`` when the server can, else full.
    Returns the kind and the chain of earlier points it builds on."""
    if last is not None and not fresh_summaries:
        say(f"taking an incremental base backup on {last.id}")
        try:
            session.base_backup(
                folder / "base", target.point_folder(last.id) / "base" / "backup_manifest"
            )
        except PostgresProgramFailed as exc:
            # WAL summaries missing (turned on after the last point, or older than
            # wal_summary_keep_time): a full backup is always possible.
            say(f"an incremental backup is not possible ({exc}); taking a full one")
            shutil.rmtree(folder / "base", ignore_errors=True)
        else:
            return "incremental", last.chain
    say("taking a full base backup")
    session.base_backup(folder / "base", None)
    return "full", []
