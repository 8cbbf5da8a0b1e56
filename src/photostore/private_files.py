"""Files and folders only photostore's own OS user can read: mode 0600 and 0700.

Everything photostore writes (blobs, thumbnails, staging files, keys, the token secret)
goes through these helpers, so no other local user can list user and image ids or read
a file, whatever the umask. Modes are set when a file or folder is created, never
loosened later; :func:`tighten_folder` closes a folder an older photostore made with
0755 (the folders below it are then unreachable to others, whatever their modes).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(path: Path) -> Path:
    """``path`` as a folder, each level it creates made with mode 0700.

    ``Path.mkdir(parents=True)`` makes the missing parents with the umask's mode
    (usually 0755), so the levels are made one at a time here.
    """
    missing: list[Path] = []
    here = path
    while not here.exists():
        missing.append(here)
        here = here.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            folder.mkdir(mode=FOLDER_MODE)
    return path


def tighten_folder(path: Path, mode: int = FOLDER_MODE) -> None:
    """Make ``path`` (a folder photostore owns) no more open than ``mode``.

    A folder owned by another OS user is left alone: that user (the embedded
    PostgreSQL's, for instance) decides its mode.
    """
    info = path.stat()
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)


def open_private(path: Path) -> IO[bytes]:
    """A new file at ``path`` open for writing, mode 0600 from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    return os.fdopen(fd, "wb")


def write_private_file(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data`` (mode 0600): written whole and fsynced
    beside its name, then renamed over it; a reader sees the old file or the new one."""
    private_folder(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    try:
        with open_private(tmp) as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def create_private_file_once(path: Path, data: bytes) -> bool:
    """Create ``path`` with ``data`` (mode 0600) unless it exists; True if this call made it.

    The file is written whole beside its final name and hard-linked into place, which
    fails if the name exists: of processes racing to create it, exactly one wins, the
    others read the winner's file, and nobody can read a half-written one.
    """
    private_folder(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    write_private_file(tmp, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    return True
