"""Staging of uploads: bytes stream to a temporary file and are hashed on the way.

The size limit is enforced while streaming, so an oversized body never fills the disk,
and the content address (sha256) is known the moment the last byte arrives. The folder
is 0700 and each file 0600, as every file photostore writes. The folder is the serving
process's own (``services.staging_area``), so a file a crash leaves there is removed as
soon as another process sees that its owner is dead.

The free-space floor is kept while streaming too (``storage.space``): an upload needs
room for two copies of its bytes, the staged one and the stored one (the encrypted copy
is written beside the staged file before it is renamed into the store), so a staging
file is begun only when twice the upload's declared size fits above the floor, and,
while it grows, checked every mebibyte for room for the stored copy of what it holds. A
disk found full is :class:`~photostore.errors.InsufficientStorage` too; the receiver then
discards the file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from photostore.errors import TooLarge
from photostore.private_files import private_folder
from photostore.storage.space import MIB, FreeSpace, space_checked

# How often a growing staging file looks at the free space again.
SPACE_CHECK_BYTES = MIB


@dataclass(frozen=True)
class StagedUpload:
    """A complete upload waiting in the staging folder."""

    path: Path
    sha256: str
    byte_size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class StagingFile:
    """One upload being received; ``write`` raises :class:`TooLarge` past ``limit``, and
    both raise :class:`~photostore.errors.InsufficientStorage` when ``space`` runs short
    (see the module's notes; ``expected`` is the upload's declared size)."""

    def __init__(
        self, folder: Path, limit: int, space: FreeSpace | None = None, expected: int = 0
    ) -> None:
        self._space = space
        if space is not None:
            space.require(2 * expected)
        private_folder(folder)
        with space_checked():
            fd, name = tempfile.mkstemp(prefix="upload-", dir=folder)  # mode 0600
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self._size = 0
        self._checked_at = 0
        self._limit = limit

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            raise TooLarge(f"the file is larger than the limit of {self._limit} bytes")
        if self._space is not None and self._size - self._checked_at >= SPACE_CHECK_BYTES:
            self._checked_at = self._size
            self._space.require(self._size)
        self._hash.update(chunk)
        with space_checked():
            self._file.write(chunk)

    def finish(self) -> StagedUpload:
        with space_checked():
            self._file.close()  # the last buffered bytes are written here
        return StagedUpload(path=self.path, sha256=self._hash.hexdigest(), byte_size=self._size)

    def discard(self) -> None:
        try:
            self._file.close()
        finally:
            # Even when the close fails to write its buffer (a full disk).
            self.path.unlink(missing_ok=True)
