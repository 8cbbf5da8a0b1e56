"""A data folder remembers the backup folders it backed up into: one that lost its marker
(a disk that is not mounted leaves an empty mount point) or holds another target's is
refused rather than made a new target, which would fill the disk below the mount."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from photostore.backup.create import KNOWN_TARGETS, open_target
from photostore.backup.layout import BackupRefused, Target
from photostore.config import Settings


def test_a_known_backup_folder_is_never_made_again(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir)
    mount = tmp_path / "mnt" / "backup"

    first = open_target(settings, mount)
    assert (mount / "photostore-backup.json").is_file()
    assert open_target(settings, mount).identity() == first.identity()

    shutil.rmtree(mount)
    mount.mkdir()  # the empty mount point of a disk that is not mounted
    with pytest.raises(BackupRefused, match="is on a disk that is not mounted"):
        open_target(settings, mount)
    assert list(mount.iterdir()) == []

    Target(mount).create()  # someone else's backup folder now lies there
    with pytest.raises(BackupRefused, match="another backup folder"):
        open_target(settings, mount)

    # Forgetting the folder, as the message says, lets it be used.
    (data_dir / KNOWN_TARGETS).unlink()
    assert open_target(settings, mount).identity() == Target(mount).identity()
    assert (data_dir / KNOWN_TARGETS).stat().st_mode & 0o777 == 0o600
