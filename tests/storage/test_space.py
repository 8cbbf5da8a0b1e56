"""A full disk and the free-space floor, on a real small file system: a write that finds
no room is InsufficientStorage (507) and leaves no file behind; the floor refuses before
anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from photostore.errors import InsufficientStorage
from photostore.services.staging import StagingFile
from photostore.storage.local import LocalBlobStore
from photostore.storage.space import MIB, FreeSpace
from tests.faults.disk import fill, free_bytes, small_file_system


@pytest.fixture
def disk() -> Iterator[Path]:
    with small_file_system(8) as mount:
        yield mount


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_blob_that_does_not_fit_is_refused_and_leaves_nothing(disk: Path) -> None:
    store = LocalBlobStore(disk / "blobs")
    store.put_bytes("originals/a/b/small", b"x" * 1000)
    fill(disk, 256 * 1024)
    with pytest.raises(InsufficientStorage):
        store.put_bytes("originals/a/b/large", b"y" * MIB)
    assert _files(disk / "blobs") == [disk / "blobs" / "originals/a/b/small"]
    assert store.exists("originals/a/b/small")


def test_a_staging_file_that_fills_the_disk_is_refused_and_discarded(disk: Path) -> None:
    fill(disk, 512 * 1024)
    staging = StagingFile(disk / "tmp", limit=100 * MIB)
    with pytest.raises(InsufficientStorage):
        for _ in range(8):
            staging.write(b"z" * (256 * 1024))
        staging.finish()
    staging.discard()
    assert _files(disk / "tmp") == []


def test_an_upload_that_would_go_under_the_floor_is_refused_before_it_is_staged(
    disk: Path,
) -> None:
    space = FreeSpace.of([disk / "tmp", disk / "blobs"], floor_mb=2)
    space.require(MIB)  # 8 MiB free: room for 1 MiB above the floor
    fill(disk, 5 * MIB)
    with pytest.raises(InsufficientStorage):
        StagingFile(disk / "tmp", limit=100 * MIB, space=space, expected=2 * MIB)
    assert not (disk / "tmp").exists() or _files(disk / "tmp") == []
    # Without a declared size the staging file checks as it grows: it stops before the
    # room for its stored copy would eat into the floor.
    growing = StagingFile(disk / "tmp", limit=100 * MIB, space=space)
    with pytest.raises(InsufficientStorage):
        for _ in range(5 * 4):
            growing.write(b"w" * (256 * 1024))
    growing.discard()
    assert free_bytes(disk) >= 5 * MIB - 64 * 1024
    assert not space.below_floor()
    fill(disk, MIB)
    assert space.below_floor()
