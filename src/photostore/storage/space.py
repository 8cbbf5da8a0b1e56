"""Room on the disks photostore writes to: the free-space floor, and a full disk as an error.

PostgreSQL must always find room for its write-ahead log: a server that cannot write WAL
stops (PANIC), and one that cannot write its end-of-recovery checkpoint does not start.
Uploads are by far the largest writes, so they are refused (507) while they would take
the free space of a file system they write to under the floor
(``PHOTOSTORE_MIN_FREE_DISK_MB``): before anything is staged, from the declared size, and
again while the body streams in. The floor is the room left for everything else.

A disk that fills anyway (another program writing, a floor of 0) fails a write with
ENOSPC: :func:`space_checked` turns that into :class:`InsufficientStorage` where files are
written, and the writer removes what it had begun.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from photostore.errors import InsufficientStorage

log = logging.getLogger(__name__)

MIB = 1024 * 1024
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


@contextmanager
def space_checked() -> Iterator[None]:
    """A block whose write failing for want of space raises :class:`InsufficientStorage`."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL:
            log.warning("a write found the disk full: %s", exc)
            raise InsufficientStorage(
                "the server's disk is full; nothing was stored, retry after space is freed"
            ) from exc
        raise


def _existing(path: Path) -> Path:
    """``path``, or its nearest folder that exists (a folder made at the first write)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


@dataclass(frozen=True)
class FreeSpace:
    """The free space of ``folders``' file systems, against a floor of ``floor_bytes``."""

    folders: tuple[Path, ...]
    floor_bytes: int

    @classmethod
    def of(cls, folders: Sequence[Path], floor_mb: int) -> FreeSpace:
        return cls(tuple(folders), floor_mb * MIB)

    def free_bytes(self) -> int:
        """The least free space of the file systems (as an unprivileged user sees it:
        root may write into blocks the database's account may not)."""
        lowest: int | None = None
        for folder in self.folders:
            stat = os.statvfs(_existing(folder))
            free = stat.f_bavail * stat.f_frsize
            lowest = free if lowest is None else min(lowest, free)
        return lowest if lowest is not None else 0

    def below_floor(self) -> bool:
        return self.free_bytes() < self.floor_bytes

    def require(self, needed: int) -> None:
        """Raise :class:`InsufficientStorage` unless ``needed`` bytes more can be written
        and the floor still stays free."""
        free = self.free_bytes()
        if free - needed >= self.floor_bytes:
            return
        log.warning(
            "an upload refused: %d MiB free, %d MiB needed, %d MiB kept free (the floor, "
            "PHOTOSTORE_MIN_FREE_DISK_MB)",
            free // MIB,
            needed // MIB,
            self.floor_bytes // MIB,
        )
        raise InsufficientStorage(
            "the server's disk is nearly full; uploads are refused until space is freed"
        )
