"""The plan of a restore to a time, on targets written by hand: the newest point finished
before the time, the archived WAL after it in order, and a refusal naming the reason for
a target without an archive, a time past its horizon or before every point, or an
archive with a gap."""

from __future__ import annotations

from datetime import timedelta

import pytest

from photostore.backup.layout import BackupRefused, Target
from photostore.backup.point_in_time import plan_timed_restore
from photostore.backup.wal_archive import ARCHIVE_FOLDER, HORIZON_FILE
from tests.backup.targets import EPOCH, crafted_point


def _archive(target: Target, horizon_day: int, *names: str) -> None:
    folder = target.root / ARCHIVE_FOLDER
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"wal")
    (folder / HORIZON_FILE).write_text((EPOCH + timedelta(days=horizon_day)).isoformat())


def test_the_plan_starts_at_the_newest_point_before_the_time(target: Target) -> None:
    crafted_point(target, 0, [], [], wal="000000010000000000000002")
    second = crafted_point(target, 2, [], [], wal="000000010000000000000009")
    crafted_point(target, 5, [], [], wal="000000010000000000000010")
    _archive(
        target, 6,
        "000000010000000000000008.gz", "000000010000000000000009.gz",
        "00000001000000000000000A.gz", "00000001000000000000000B",
        "00000001000000000000000C.partial", "00000002.history",
        "00000002000000000000000A.gz",
    )  # fmt: skip

    plan = plan_timed_restore(target, EPOCH + timedelta(days=3))
    assert plan.base.id == second
    assert [p.name for p in plan.compressed_wal] == ["00000001000000000000000A.gz"]
    assert [p.name for p in plan.plain_wal] == [
        "00000001000000000000000B",
        "00000001000000000000000C.partial",
        "00000002.history",
    ]


def test_a_time_the_archive_cannot_reach_is_refused(target: Target) -> None:
    with pytest.raises(BackupRefused, match="has no continuous archive"):
        plan_timed_restore(target, EPOCH)
    crafted_point(target, 2, [], [], wal="000000010000000000000009")
    _archive(target, 4, "00000001000000000000000A.gz", "00000001000000000000000C.gz")
    with pytest.raises(BackupRefused, match="restores up to"):
        plan_timed_restore(target, EPOCH + timedelta(days=5))
    with pytest.raises(BackupRefused, match="no point finished before"):
        plan_timed_restore(target, EPOCH + timedelta(days=1))
    with pytest.raises(BackupRefused, match="follows a gap"):
        plan_timed_restore(target, EPOCH + timedelta(days=3))
