"""A backup that fails makes no point and leaves the earlier ones restorable: the target
disappearing mid-backup (a disk unplugged), and a second backup into the same folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from photostore.backup.create import create_backup
from photostore.backup.layout import BackupRefused, Target
from photostore.config import Settings
from tests.conftest import postgres_folder
from tests.processes import run_cli

pytestmark = pytest.mark.slow  # a cluster of its own


@pytest.fixture
def library() -> Iterator[Settings]:
    with postgres_folder() as scratch:
        data_dir = scratch / "data"
        made = run_cli(
            "user", "create", "--data-dir", str(data_dir), "--email", "a@example.org",
            "--password", "a password",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        yield Settings(data_dir=data_dir, database_url=None, blob_dir=None)


def test_a_target_that_disappears_mid_backup_gets_no_point(library: Settings) -> None:
    root = library.data_dir.parent / "backup"
    target = Target(root).create()
    first = create_backup(library, target, say=lambda line: None)

    def unplug(line: str) -> None:
        if line.startswith("locking writes"):
            shutil.rmtree(root)
            root.mkdir()  # the empty mount point an unplugged disk leaves

    with pytest.raises((BackupRefused, OSError)):
        create_backup(library, target, say=unplug)
    assert not list(root.rglob("manifest.json")), "a point was named on the empty folder"

    # Into a folder that is still there, a failed backup leaves the earlier point alone.
    again = Target(library.data_dir.parent / "backup-2").create()
    kept = create_backup(library, again, say=lambda line: None)

    def fail_at_the_point(line: str) -> None:
        if line.startswith("locking writes"):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        create_backup(library, again, say=fail_at_the_point)
    assert [p.id for p in again.points()] == [kept.manifest.id]
    assert sorted(p.name for p in (again.root / "points").iterdir()) == [kept.manifest.id]
    assert first.manifest.kind == "full"
