"""What a restore to a time needs from a target with a continuous archive: the point to
start from, the WAL after it (with no gap), and the objects of the blobs it references.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from photostore.backup.layout import BackupRefused, Manifest, StoredBlob, Target
from photostore.backup.wal_archive import archive_segments, read_horizon, read_index

_SEGMENTS_PER_LOG = 0x100  # 16 MiB segments: 256 per 4 GiB "log" of a WAL file name


@dataclass(frozen=True)
class TimedRestore:
    """The base point of a restore to ``until``, and the archive's WAL after it."""

    base: Manifest
    until: datetime
    compressed_wal: list[Path]
    plain_wal: list[Path]


def _segment_number(name: str) -> int:
    return int(name[8:16], 16) * _SEGMENTS_PER_LOG + int(name[16:24], 16)


def plan_timed_restore(target: Target, until: datetime) -> TimedRestore:
    """The newest point finished before ``until`` and the archived WAL that follows it;
    :class:`BackupRefused` when the archive cannot reach ``until``."""
    horizon = read_horizon(target)
    if horizon is None:
        raise BackupRefused(
            f"{target.root} has no continuous archive (serve with PHOTOSTORE_BACKUP_TARGET "
            "makes one): restore one of its points with --point"
        )
    if until > horizon:
        raise BackupRefused(
            f"the archive in {target.root} restores up to {horizon.isoformat()}: choose a "
            "time at or before it"
        )
    finished = [
        point
        for point in target.points()
        if point.created_at + timedelta(seconds=point.seconds) <= until
    ]
    if not finished:
        raise BackupRefused(
            f"{target.root} has no point finished before {until.isoformat()}: the oldest "
            "point is later"
        )
    base = finished[-1]
    last_file = max(base.wal)
    last = _segment_number(last_file)
    timeline = last_file[:8]
    compressed: list[Path] = []
    plain: list[Path] = []
    expected = last + 1
    for path in archive_segments(target):
        name = path.name
        if name.endswith(".history"):
            plain.append(path)
            continue
        if name[:8] != timeline:
            continue  # a restored cluster's archive into the same folder: another history
        number = _segment_number(name)
        if number < expected:
            continue  # in the point already, or the same segment plain and gzipped
        if number != expected:
            raise BackupRefused(
                f"the archive in {target.root} misses WAL after point {base.id} (segment "
                f"{name} follows a gap): restore a point with --point"
            )
        expected += 1
        (compressed if name.endswith(".gz") else plain).append(path)
    return TimedRestore(base=base, until=until, compressed_wal=compressed, plain_wal=plain)


def archived_objects(target: Target) -> dict[str, StoredBlob]:
    """Every blob key the target holds an object for: the points' and the archive's."""
    objects: dict[str, StoredBlob] = {}
    for point in target.points():
        objects.update(point.blobs)
    objects.update({entry.key: entry.blob for entry in read_index(target)})
    return objects
