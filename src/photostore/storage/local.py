"""A blob store on the local file system.

Writes go to a temporary file in the destination folder, are fsynced, then renamed over
the final name and the folder is fsynced: after ``put_*`` returns, the blob survives a
power cut, and a crash in between leaves either the old state or the new, never half a
file.

A write that finds the disk full raises ``InsufficientStorage`` (``storage.space``) and
leaves nothing: the temporary file is removed.

Every file is mode 0600 and every folder 0700 (``photostore.private_files``): the paths
alone name users and images, so no other local user may list them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from photostore.private_files import FILE_MODE, private_folder, tighten_folder
from photostore.storage.base import BlobNotFound, check_key
from photostore.storage.space import space_checked

# Temporary files of writes; never a key (keys begin with a letter or a digit).
_PARTIAL_PREFIX = ".tmp-"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """Blobs as files below ``root``; one file per key."""

    def __init__(self, root: Path) -> None:
        self.root = private_folder(root.resolve())
        # A store an older photostore made is 0755: closing its root hides all below it.
        tighten_folder(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, source: Path) -> None:
        with space_checked():
            self._put_file(key, source)

    def _put_file(self, key: str, source: Path) -> None:
        target = self._path(key)
        private_folder(target.parent)
        if source.stat().st_dev == self.root.stat().st_dev:
            # Same file system: make the bytes durable, then rename them into place; the
            # file keeps its mode through the rename, whoever made it, so set it here.
            with source.open("rb+") as src:
                os.fchmod(src.fileno(), FILE_MODE)
                os.fsync(src.fileno())
            source.replace(target)
            _fsync_dir(target.parent)
            return
        with source.open("rb") as src, _AtomicWriter(target) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        with space_checked():
            private_folder(target.parent)
            with _AtomicWriter(target) as dst:
                dst.write(data)

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    def read_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        path = self._path(key)
        if not path.is_file():
            raise BlobNotFound(key)
        return _file_chunks(path, start, end, chunk_size)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith(_PARTIAL_PREFIX):
                yield path.relative_to(self.root).as_posix()

    # -- for garbage collection (``services.garbage``) ------------------------------

    def modified(self, key: str) -> float:
        """When the blob was written (POSIX seconds); raises :class:`BlobNotFound`."""
        try:
            return self._path(key).stat().st_mtime
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    def partial_writes(self) -> list[PartialWrite]:
        """The temporary files of writes: in flight now, or left by a crash."""
        found = []
        for path in sorted(self.root.rglob(f"{_PARTIAL_PREFIX}*")):
            with contextlib.suppress(FileNotFoundError):  # its write just ended
                info = path.stat()
                found.append(PartialWrite(path, info.st_size, info.st_mtime))
        return found

    def remove_partial_write(self, partial: PartialWrite) -> None:
        """Remove a temporary file :meth:`partial_writes` listed."""
        path = partial.path
        if not path.name.startswith(_PARTIAL_PREFIX) or not path.is_relative_to(self.root):
            raise ValueError(f"not a partial write of this store: {path}")
        path.unlink(missing_ok=True)


@dataclass(frozen=True)
class PartialWrite:
    """A temporary file of a write that has not been renamed into place (yet)."""

    path: Path
    byte_size: int
    modified: float


def _file_chunks(path: Path, start: int, end: int | None, chunk_size: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = None if end is None else max(0, end - start)
        while remaining is None or remaining > 0:
            chunk = handle.read(chunk_size if remaining is None else min(chunk_size, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


class _AtomicWriter:
    """Context manager: write a temp file beside ``target``; on success fsync + rename."""

    def __init__(self, target: Path) -> None:
        self.target = target
        fd, name = tempfile.mkstemp(prefix=_PARTIAL_PREFIX, dir=target.parent)  # mode 0600
        self.tmp = Path(name)
        self.file = os.fdopen(fd, "wb")

    def __enter__(self) -> _AtomicWriter:
        return self

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.file.flush()
                os.fsync(self.file.fileno())
            self.file.close()
            if exc_type is None:
                self.tmp.replace(self.target)
                _fsync_dir(self.target.parent)
        finally:
            self.tmp.unlink(missing_ok=True)
