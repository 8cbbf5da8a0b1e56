"""Staging of uploads: bytes stream to a temporary file and are hashed on the way.

The size limit is enforced while streaming, so an oversized body never fills the disk,
and the content address (sha256) is known the moment the last byte arrives. The folder
is 0700 and each file 0600, as every file photostore writes. The folder is the serving
process's own (``services.staging_area``), so a file a crash leaves there is removed as
soon as another process sees that its owner is dead.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from photostore.errors import TooLarge
from photostore.private_files import private_folder


@dataclass(frozen=True)
class StagedUpload:
    """A complete upload waiting in the staging folder."""

    path: Path
    sha256: str
    byte_size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class StagingFile:
    """One upload being received; ``write`` raises :class:`TooLarge` past ``limit``."""

    def __init__(self, folder: Path, limit: int) -> None:
        private_folder(folder)
        fd, name = tempfile.mkstemp(prefix="upload-", dir=folder)  # mode 0600
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._hash = hashlib.sha256()
        self._size = 0
        self._limit = limit

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            raise TooLarge(f"the file is larger than the limit of {self._limit} bytes")
        self._hash.update(chunk)
        self._file.write(chunk)

    def finish(self) -> StagedUpload:
        self._file.close()
        return StagedUpload(path=self.path, sha256=self._hash.hexdigest(), byte_size=self._size)

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)
