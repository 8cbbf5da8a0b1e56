"""Restores to a time: ``serve`` with a backup target streams WAL and copies blobs into it
continuously, and ``restore --to-time`` gives back the library as it was at that time,
between points, every photo byte-exact; a time past the archive's horizon is refused
before anything is written."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2 as httpx
import pytest

from photostore.backup.layout import Target
from photostore.backup.wal_archive import read_horizon
from photostore.db.embedded import start_cluster, superuser_connect
from tests import imagegen
from tests.conftest import postgres_folder
from tests.processes import login, run_cli, serving

pytestmark = pytest.mark.slow  # clusters, servers and restores of their own

EMAIL, PASSWORD = "ada@example.org", "ada password"
KEYS = {"PHOTOSTORE_KEYS_PASSPHRASE": "correct horse battery staple"}


@pytest.fixture
def folder() -> Iterator[Path]:
    with postgres_folder() as scratch:
        yield scratch


def _wait_for(condition_met: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition_met():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds:.0f} s")
        time.sleep(0.3)


def _upload(base: str, headers: dict[str, str], seed: int) -> tuple[str, bytes]:
    photo = imagegen.make_png(None, 40, 30, seed=seed)
    answer = httpx.post(
        f"{base}/v1/images", headers=headers, files={"file": (f"p{seed}.png", photo)}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"]), photo


def _library(data_dir: Path) -> dict[str, bytes]:
    """Every image of the restored folder and its original's bytes, through a server."""
    with serving(data_dir) as base:
        headers = login(base, EMAIL, PASSWORD)
        listed = httpx.get(f"{base}/v1/images", headers=headers, params={"limit": 100})
        assert listed.status_code == 200, listed.text
        library = {}
        for item in listed.json()["items"]:
            original = httpx.get(f"{base}/v1/images/{item['id']}/content", headers=headers)
            assert original.status_code == 200, original.text
            library[item["id"]] = original.content
        return library


def _archive_slots(data_dir: Path) -> list[str]:
    cluster = start_cluster(data_dir / "pgdata")
    try:
        with superuser_connect(cluster) as conn:
            rows = conn.execute("SELECT slot_name FROM pg_replication_slots ORDER BY 1")
            return [row[0] for row in rows.fetchall()]
    finally:
        cluster.stop()


def _after_horizon(target: Target, moment: datetime) -> Callable[[], bool]:
    def reached() -> bool:
        horizon = read_horizon(target)
        return horizon is not None and horizon > moment

    return reached


def test_a_restore_to_a_time_between_points_gives_back_the_library_of_that_time(
    folder: Path,
) -> None:
    data_dir, backups = folder / "data", folder / "backup"
    made = run_cli(
        "user", "create", "--data-dir", str(data_dir), "--email", EMAIL, "--password", PASSWORD
    )
    assert made.returncode == 0, made.stderr
    exported = run_cli(
        "keys", "export", "--data-dir", str(data_dir), "--to", str(folder / "keys"), env=KEYS
    )
    assert exported.returncode == 0, exported.stderr
    target = Target(backups)
    archiving = {
        "PHOTOSTORE_BACKUP_TARGET": str(backups),
        "PHOTOSTORE_BACKUP_ARCHIVE_SECONDS": "0.5",
    }
    with serving(data_dir, archiving) as base:
        headers = login(base, EMAIL, PASSWORD)
        # The first point is made at the start; the uploads below come after it.
        _wait_for(lambda: (backups / "points").is_dir() and bool(target.points()), "a point")
        first = dict([_upload(base, headers, seed) for seed in range(2)])
        between = datetime.now(UTC)
        time.sleep(0.2)
        later = dict([_upload(base, headers, seed) for seed in range(2, 4)])
        end = datetime.now(UTC)
        _wait_for(_after_horizon(target, end), "the archive's horizon passing the uploads")
    assert len(target.points()) == 1
    # A start without the archive drops its slot: nothing keeps WAL for a receiver.
    assert _archive_slots(data_dir) == ["photostore_wal_archive"]
    with serving(data_dir):
        pass
    assert _archive_slots(data_dir) == []

    def restore(to: datetime, into: str) -> Path:
        restored = folder / into
        done = run_cli(
            "restore", "--from", str(backups), "--data-dir", str(restored),
            "--to-time", to.isoformat(), "--keys", str(folder / "keys"), env=KEYS,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"restored {to.isoformat()}" in done.stdout
        return restored

    assert _library(restore(between, "at-between")) == first
    assert _library(restore(end, "at-end")) == first | later

    too_late = run_cli(
        "restore", "--from", str(backups), "--data-dir", str(folder / "too-late"),
        "--to-time", "2999-01-01T00:00:00Z", "--keys", str(folder / "keys"), env=KEYS,
    )  # fmt: skip
    assert too_late.returncode == 1
    assert "restores up to" in too_late.stderr
    assert not (folder / "too-late").exists()
    not_a_time = run_cli(
        "restore", "--from", str(backups), "--data-dir", str(folder / "bad"),
        "--to-time", "yesterday", env=KEYS,
    )  # fmt: skip
    assert not_a_time.returncode == 1
    assert "is not an ISO 8601 time" in not_a_time.stderr
