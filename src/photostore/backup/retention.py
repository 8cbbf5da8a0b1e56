"""Retention of a backup target: keep the newest points, and everything they need.

A point needs every point of its chain (the full base backup and the incrementals that
``pg_combinebackup`` applies on it) and every object its manifest lists. A restore to a
time needs, after the oldest kept point, the archived WAL and the objects the archive
copied. What none of these needs goes: older points, archived WAL from before the oldest
kept point, the archive's index lines from before it, the objects only they listed, and
the folders of backups that never finished (no manifest). It runs under the target's
lock, so no backup is writing, and under the objects' lock while it removes objects, so
the archive is not adding any.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from photostore.backup.layout import BackupRefused, Target
from photostore.backup.wal_archive import (
    ARCHIVE_FOLDER,
    INDEX_FILE,
    archive_segments,
    objects_lock,
    read_index,
    write_index,
)

log = logging.getLogger(__name__)

# Longer than any upload takes from writing its blob to committing its row.
UPLOAD_SPAN = timedelta(hours=1)


@dataclass(frozen=True)
class PruneDone:
    """What a prune removed, and the points left."""

    removed_points: list[str]
    unfinished_folders: int
    removed_objects: int
    freed_bytes: int
    kept_points: list[str]


def prune(target: Target, keep: int, say: Callable[[str], None] = log.info) -> PruneDone:
    """Keep the newest ``keep`` points (with their chains) in ``target``, remove the rest."""
    if keep < 1:
        raise BackupRefused("retention must keep at least one point")
    with target.locked():
        points = target.points()
        kept = points[-keep:]
        needed = {point_id for point in kept for point_id in point.chain}
        removed = [point.id for point in points if point.id not in needed]
        finished = {point.id for point in points}
        unfinished = [
            folder
            for folder in sorted((target.root / "points").glob("*"))
            if folder.name not in finished
        ]
        for point_id in removed:
            shutil.rmtree(target.point_folder(point_id))
        for folder in unfinished:
            shutil.rmtree(folder)
        oldest = next((point for point in points if point.id in needed), None)
        if oldest is not None and oldest.wal:
            _prune_archived_wal(target, min(oldest.wal))
        with objects_lock(target):
            # An upload writes its blob before its row commits: a blob the archive copied
            # shortly before the oldest point began may be referenced only after the
            # point, and so be in no manifest. Its index line stays for UPLOAD_SPAN.
            archived = [
                entry
                for entry in read_index(target)
                if oldest is None or entry.at >= oldest.created_at - UPLOAD_SPAN
            ]
            if (target.root / ARCHIVE_FOLDER / INDEX_FILE).exists():
                write_index(target, archived)
            live = {entry.blob.sha256 for entry in archived} | {
                blob.sha256
                for point in points
                if point.id in needed
                for blob in point.blobs.values()
            }
            removed_objects = 0
            freed = 0
            for path in sorted((target.root / "objects").glob("*/*")):
                if path.name not in live:
                    freed += path.stat().st_size
                    path.unlink()
                    removed_objects += 1
            # Copies a backup was writing when it died.
            for path in (target.root / "objects").glob(".tmp-*"):
                path.unlink()
    if removed or unfinished or removed_objects:
        say(
            f"pruned {len(removed)} points and {len(unfinished)} unfinished backups, "
            f"{removed_objects} objects ({freed / 2**20:.1f} MiB)"
        )
    return PruneDone(
        removed_points=removed,
        unfinished_folders=len(unfinished),
        removed_objects=removed_objects,
        freed_bytes=freed,
        kept_points=[point.id for point in points if point.id in needed],
    )


def _prune_archived_wal(target: Target, first: str) -> None:
    """Remove the archived WAL segments from before ``first``, the oldest kept point's
    first WAL file (the timeline aside)."""
    for path in archive_segments(target):
        if not path.name.endswith((".history", ".partial")) and path.name[8:24] < first[8:]:
            path.unlink()
