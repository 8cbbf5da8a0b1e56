"""Retention of a backup target: keep the newest points, and everything they need.

A point needs every point of its chain (the full base backup and the incrementals that
``pg_combinebackup`` applies on it) and every object its manifest lists. What no kept
point needs goes: older points, the objects only they listed, and the folders of
backups that never finished (no manifest). It runs under the target's lock, so no
backup is writing while objects are judged unreferenced.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from photostore.backup.layout import BackupRefused, Target

log = logging.getLogger(__name__)


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
        live = {
            blob.sha256 for point in points if point.id in needed for blob in point.blobs.values()
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
