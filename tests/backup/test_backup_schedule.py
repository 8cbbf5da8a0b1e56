"""Retention and scheduled backups: a prune keeps the newest points with the chains they
need and the objects they list, and nothing else; ``serve`` with a backup target makes
points on its interval, prunes them, and reports the newest one's age in ``/readyz`` and
``/metrics``; a target it cannot write to is counted as a failure, not a stop."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

from photostore.backup.layout import BackupRefused, Target
from photostore.backup.retention import prune
from photostore.backup.schedule import BackupSchedule
from photostore.backup.wal_archive import (
    ARCHIVE_FOLDER,
    ArchivedBlob,
    archive_segments,
    read_index,
    write_index,
)
from photostore.config import Settings
from tests.backup.targets import EPOCH, crafted_object, crafted_point
from tests.conftest import postgres_folder
from tests.processes import run_cli, serving

EMAIL, PASSWORD = "ada@example.org", "ada password"


def test_a_prune_keeps_the_newest_points_with_their_chains_and_objects(target: Target) -> None:
    first = crafted_point(target, 0, [], ["a", "b"])
    second = crafted_point(target, 1, [first], ["a", "b", "c"])
    third = crafted_point(target, 2, [], ["b", "c", "d"])
    fourth = crafted_point(target, 3, [third], ["d", "e"])
    (target.point_folder("20260105T000000000Z") / "base").mkdir(parents=True)  # unfinished
    (target.root / "objects" / ".tmp-0123").write_bytes(b"half a copy")

    # The newest two are a full point and one incremental on it: the older chain goes.
    kept = prune(target, keep=2)
    assert kept.kept_points == [third, fourth]
    assert kept.removed_points == [first, second]
    assert kept.unfinished_folders == 1
    assert kept.removed_objects == 1  # "a": only the removed points listed it
    left = sorted(p.name[0] for p in (target.root / "objects").glob("*/*"))
    assert left == ["b", "c", "d", "e"]
    assert not list((target.root / "objects").glob(".tmp-*"))
    assert [point.id for point in target.points()] == [third, fourth]
    assert sorted(p.name for p in (target.root / "points").iterdir()) == [third, fourth]


def test_a_kept_incremental_keeps_the_points_it_builds_on(target: Target) -> None:
    first = crafted_point(target, 0, [], ["a"])
    second = crafted_point(target, 1, [first], ["a", "b"])
    third = crafted_point(target, 2, [first, second], ["a", "b", "c"])

    kept = prune(target, keep=1)
    assert kept.kept_points == [first, second, third]
    assert kept.removed_points == []
    assert kept.removed_objects == 0
    with pytest.raises(BackupRefused, match="at least one"):
        prune(target, keep=0)


def test_a_prune_keeps_the_archive_from_the_oldest_kept_point_on(target: Target) -> None:
    old = crafted_point(target, 0, [], ["a"], wal="000000010000000000000002")
    kept = crafted_point(target, 2, [], ["b"], wal="000000010000000000000009")
    archive = target.root / ARCHIVE_FOLDER
    archive.mkdir()
    for name in ("000000010000000000000004.gz", "000000010000000000000009.gz",
                 "00000001000000000000000A.partial", "00000002.history"):  # fmt: skip
        (archive / name).write_bytes(b"wal")
    write_index(
        target,
        [
            ArchivedBlob("key-c", crafted_object(target, "c"), EPOCH + timedelta(days=1)),
            # Copied just before the kept point began: its row may commit after the point.
            ArchivedBlob(
                "key-g", crafted_object(target, "g"), EPOCH + timedelta(days=2, minutes=-5)
            ),
            ArchivedBlob("key-f", crafted_object(target, "f"), EPOCH + timedelta(days=3)),
        ],
    )

    done = prune(target, keep=1)
    assert done.removed_points == [old]
    assert done.kept_points == [kept]
    # "a" was only the old point's, "c" only in the archive before the kept point.
    assert sorted(p.name[0] for p in (target.root / "objects").glob("*/*")) == ["b", "f", "g"]
    assert [entry.key for entry in read_index(target)] == ["key-g", "key-f"]
    assert sorted(p.name for p in archive_segments(target)) == [
        "000000010000000000000009.gz",
        "00000001000000000000000A.partial",
        "00000002.history",
    ]


def test_prune_from_the_command_line(target: Target) -> None:
    first = crafted_point(target, 0, [], ["a"])
    second = crafted_point(target, 1, [], ["b"])
    done = run_cli("backup", "prune", "--from", str(target.root), "--keep", "1")
    assert done.returncode == 0, done.stderr
    assert "removed 1 points" in done.stdout
    assert [point.id for point in target.points()] == [second]
    assert not target.point_folder(first).exists()
    refused = run_cli("backup", "prune", "--from", str(target.root.parent), "--keep", "1")
    assert refused.returncode != 0
    assert "is not a photostore backup target" in refused.stderr


@pytest.fixture
def folder() -> Iterator[Path]:
    with postgres_folder() as scratch:
        yield scratch


def _wait_for(condition_met: object, what: str, seconds: float = 120) -> None:
    assert callable(condition_met)
    deadline = time.monotonic() + seconds
    while not condition_met():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds:.0f} s")
        time.sleep(0.5)


def _metric(base: str, name: str) -> float | None:
    for line in httpx.get(f"{base}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


@pytest.mark.slow
def test_serve_backs_up_on_its_interval_prunes_and_reports_the_age(folder: Path) -> None:
    data_dir, backups = folder / "data", folder / "backup"
    made = run_cli(
        "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD
    )
    assert made.returncode == 0, made.stderr
    schedule = {
        "PHOTOSTORE_BACKUP_TARGET": str(backups),
        "PHOTOSTORE_BACKUP_INTERVAL_MINUTES": "0.02",
        "PHOTOSTORE_BACKUP_KEEP": "2",
        "PHOTOSTORE_BACKUP_FULL_EVERY": "2",
    }
    target = Target(backups)
    seen: set[str] = set()

    def pruned_a_chain() -> bool:
        if not (backups / "points").is_dir():
            return False
        points = target.points()
        seen.update(point.id for point in points)
        return len(seen) >= 4 and min(seen) not in {point.id for point in points}

    with serving(data_dir, schedule) as base:
        _wait_for(pruned_a_chain, "four scheduled points and a prune")
        ready = httpx.get(f"{base}/readyz").json()
        age = _metric(base, "photostore_backup_newest_point_age_seconds")
        failures = _metric(base, "photostore_backup_failures_total")

    assert ready["status"] == "ready"
    assert ready["backup"]["failures"] == 0
    assert 0 <= ready["backup"]["newest_point_age_seconds"] < 60
    assert age is not None and 0 <= age < 60
    assert failures == 0
    points = target.points()
    # Full every two: the two newest are a full point and one on it, or (just after a
    # backup made the third of a chain's successor) an incremental and the two it needs.
    assert 2 <= len(points) <= 3
    assert points[0].kind == "full"
    assert all(point.chain[0] == points[0].id for point in points)
    listed = run_cli("backup", "list", "--from", str(backups))
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [p.id for p in points]


@pytest.mark.slow
def test_a_target_serve_cannot_write_is_a_counted_failure_not_a_stop(folder: Path) -> None:
    data_dir = folder / "data"
    not_a_folder = folder / "backup"
    not_a_folder.write_text("a file where the backup folder should be")
    made = run_cli(
        "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD
    )
    assert made.returncode == 0, made.stderr
    schedule = {"PHOTOSTORE_BACKUP_TARGET": str(not_a_folder)}
    with serving(data_dir, schedule) as base:
        _wait_for(
            lambda: httpx.get(f"{base}/readyz").json()["backup"]["failures"] >= 1,
            "a counted backup failure",
            seconds=60,
        )
        ready = httpx.get(f"{base}/readyz")
        failures = _metric(base, "photostore_backup_failures_total")
        token = httpx.post(f"{base}/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
    assert ready.status_code == 200
    assert ready.json()["backup"]["newest_point_age_seconds"] is None
    assert ready.json()["backup"]["last_failure_at"] is not None
    assert failures is not None and failures >= 1
    assert token.status_code == 200, token.text
    assert not_a_folder.read_text() == "a file where the backup folder should be"


def test_a_database_that_refuses_connections_is_a_failed_backup_not_a_stop(
    tmp_path: Path,
) -> None:
    # A postmaster.pid naming a live process (this one) and a socket folder where no
    # server listens: the cluster looks running, and every connection fails (psycopg).
    data_dir, sockets = tmp_path / "data", tmp_path / "sockets"
    (data_dir / "pgdata").mkdir(parents=True)
    sockets.mkdir()
    fields = [os.getpid(), data_dir / "pgdata", int(time.time()), 5432, sockets, "", "0 0"]
    lines = [*map(str, fields), "ready"]
    (data_dir / "pgdata" / "postmaster.pid").write_text("\n".join(lines) + "\n")
    schedule = BackupSchedule(Settings(data_dir=data_dir, backup_target=tmp_path / "backup"))

    schedule.back_up()
    assert schedule.failures == 1
    assert schedule.seconds_until_due(datetime.now(UTC)) > 0  # retried later, not at once
