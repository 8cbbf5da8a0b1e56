"""Where a process stages plaintext: a folder of its own, removed the moment it dies.

An upload is staged as a plaintext file (it must be hashed and decoded before it is
stored, encrypted), and so is an original a thumbnail is remade from. A process killed
outright (SIGKILL, the OOM killer) cannot remove them, so each process that stages works
in a folder of its own below the staging root, and holds an exclusive ``flock`` on the
lock file inside it for as long as it lives::

    <data dir>/tmp/
        proc-<pid>-<random>/    one per process
            .lock               flock(LOCK_EX) by its process; the kernel frees it at death
            upload-*            uploads being received
            remake-*            originals thumbnails are being remade from

Any process can tell a dead process's folder from a live one's by trying the lock: free
means its holder is gone, so :func:`sweep_staging` removes the folder at once, at every
start and on a timer in every running process, and ``photostore gc`` runs it too. A live
process's files are never touched: its lock is held.

``flock`` rather than ``fcntl`` locks: a ``flock`` belongs to the open file, so a sweep
in the same process tries the lock through a file of its own and is refused like any
other process's, and closing some other descriptor of the file never drops it. A folder
is made and locked under a ``.claim-`` name and renamed into place, so no sweep ever
sees a process folder whose lock is not yet taken.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from photostore.private_files import FILE_MODE, FOLDER_MODE, private_folder, tighten_folder

PROCESS_PREFIX = "proc-"
LOCK_NAME = ".lock"
_CLAIM_PREFIX = ".claim-"
# A claim is renamed into place microseconds after it is made; one older than this was
# left by a process killed in between (it holds no photo, only its lock file).
_ABANDONED_CLAIM_SECONDS = 60.0


@dataclass(frozen=True)
class StagingSweep:
    """What a sweep removed (or, in a dry run, would remove): the folders of dead
    processes, and loose files an older photostore left in the root."""

    folders: int = 0
    files: int = 0
    bytes: int = 0


class StagingArea:
    """This process's staging folder, held by its lock until :meth:`release`."""

    def __init__(self, folder: Path, lock_fd: int) -> None:
        self.folder = folder
        self._lock_fd = lock_fd

    @classmethod
    def claim(cls, root: Path) -> StagingArea:
        """Make, lock and publish a new folder for this process below ``root``."""
        private_folder(root)
        tighten_folder(root)  # made 0755 by an older photostore
        token = secrets.token_hex(6)
        claim = root / f"{_CLAIM_PREFIX}{token}"
        claim.mkdir(mode=FOLDER_MODE)
        fd = os.open(claim / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            folder = root / f"{PROCESS_PREFIX}{os.getpid()}-{token}"
            claim.rename(folder)
        except BaseException:
            os.close(fd)
            _remove_folder(claim)
            raise
        return cls(folder, fd)

    def release(self) -> None:
        """Remove the folder and whatever is left in it, then let go of the lock."""
        try:
            _remove_folder(self.folder)
        finally:
            os.close(self._lock_fd)


def sweep_staging(root: Path, *, dry_run: bool = False) -> StagingSweep:
    """Remove the staging folders of dead processes below ``root``; live ones stay.

    Loose files in the root are an older photostore's staging files (this one writes
    only into process folders) and go too, and so do claims a process was killed in the
    middle of (a ``.claim-`` folder older than a minute).
    """
    folders = files = size = 0
    if not root.is_dir():
        return StagingSweep()
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(PROCESS_PREFIX) and entry.is_dir():
            swept = _sweep_folder(entry, dry_run=dry_run)
            if swept is not None:
                folders += 1
                files += swept[0]
                size += swept[1]
        elif entry.name.startswith(_CLAIM_PREFIX) and entry.is_dir():
            if _abandoned(entry) and _sweep_folder(entry, dry_run=dry_run) is not None:
                folders += 1
        elif entry.is_file() and not entry.is_symlink():
            files += 1
            size += _size(entry)
            if not dry_run:
                entry.unlink(missing_ok=True)
    return StagingSweep(folders=folders, files=files, bytes=size)


def _sweep_folder(folder: Path, *, dry_run: bool) -> tuple[int, int] | None:
    """Files and bytes of ``folder`` if its process is dead (removed unless ``dry_run``);
    None while its process lives."""
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR)
    except FileNotFoundError:
        # Published folders always hold their lock file: this one is half removed.
        fd = None
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    return None  # its process holds it: alive
                raise
        staged = [p for p in _files(folder) if p.name != LOCK_NAME]
        counted = (len(staged), sum(_size(p) for p in staged))
        if not dry_run:
            _remove_folder(folder)
        return counted
    finally:
        if fd is not None:
            os.close(fd)


def _abandoned(claim: Path) -> bool:
    try:
        return time.time() - claim.stat().st_mtime > _ABANDONED_CLAIM_SECONDS
    except FileNotFoundError:
        return False


def _files(folder: Path) -> list[Path]:
    with contextlib.suppress(FileNotFoundError):
        return [p for p in folder.iterdir() if p.is_file()]
    return []


def _size(path: Path) -> int:
    with contextlib.suppress(FileNotFoundError):
        return path.stat().st_size
    return 0


def _remove_folder(folder: Path) -> None:
    """Remove a staging folder (flat: files only); another sweep may race this one."""
    for path in _files(folder):
        path.unlink(missing_ok=True)
    with contextlib.suppress(FileNotFoundError):
        folder.rmdir()
