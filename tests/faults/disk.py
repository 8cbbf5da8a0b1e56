"""A small real file system to fill: a tmpfs mounted for one test (root only)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import postgres_folder


@contextlib.contextmanager
def small_file_system(size_mb: int) -> Iterator[Path]:
    """A folder on a tmpfs of ``size_mb`` MiB, unmounted afterwards.

    Skipped, saying why, where nothing can be mounted (not root, no CAP_SYS_ADMIN); with
    ``CI`` set the reason fails the test instead: CI runs as root and must run it.
    """
    with postgres_folder() as folder:
        mount = folder / "disk"
        mount.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            reason = (
                f"cannot mount a {size_mb} MiB tmpfs to fill (uid {os.geteuid()}): "
                f"{done.stderr.strip() or done.returncode}"
            )
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
        try:
            yield mount
        finally:
            subprocess.run(["umount", "--lazy", str(mount)], check=False)


def fill(disk: Path, leave_bytes: int) -> Path:
    """A file taking all of ``disk``'s free space but ``leave_bytes``; its path."""
    filler = disk / f"filler-{len(list(disk.glob('filler-*')))}"
    stat = os.statvfs(disk)
    size = stat.f_bavail * stat.f_frsize - leave_bytes
    assert size > 0, "the disk is fuller than asked for already"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)
    return filler


def free_bytes(disk: Path) -> int:
    stat = os.statvfs(disk)
    return stat.f_bavail * stat.f_frsize
