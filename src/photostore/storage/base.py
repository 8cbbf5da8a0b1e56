"""The ``BlobStore`` protocol and the one place blob keys are checked for safety.

Keys are opaque strings the services build (``originals/<owner>/<aa>/<sha256>``); a
store never interprets them beyond mapping them to a location, and every store refuses
a key that could escape its root. Methods are synchronous: services call them from a
worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

_SAFE_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$")


class BlobNotFound(LookupError):
    """The store has no blob under this key."""


class UncheckedBlob(LookupError):
    """A blob with nothing to check its bytes against: written before chunk sums were
    recorded, and not named by the sha256 of its bytes (a thumbnail)."""


class UnsafeKey(ValueError):
    """A key that could name something outside the store (``..``, ``/x``, odd bytes)."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative key, else raise :class:`UnsafeKey`."""
    if len(key) > 512 or not _SAFE_KEY.fullmatch(key) or ".." in key.split("/"):
        raise UnsafeKey(f"unsafe blob key: {key!r}")
    return key


class BlobStore(Protocol):
    """Durable storage of immutable byte strings under opaque keys."""

    def put_file(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key``, durably, all or nothing.

        The store may move ``source`` instead of copying it.
        """

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, durably, all or nothing."""

    def size(self, key: str) -> int:
        """The size in bytes of the blob; raises :class:`BlobNotFound`."""

    def read_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 16
    ) -> Iterator[bytes]:
        """Yield bytes ``start`` to ``end`` (exclusive; None = to the end) in chunks."""

    def delete(self, key: str) -> None:
        """Remove the blob; removing a missing key is not an error."""

    def exists(self, key: str) -> bool:
        """Whether a blob is stored under ``key``."""

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (for verification and garbage collection)."""


def original_key(owner_id: str, sha256: str) -> str:
    """The key of an original file: content-addressed, per owner."""
    return check_key(f"originals/{owner_id}/{sha256[:2]}/{sha256}")


def content_sha256_of(key: str) -> str | None:
    """The sha256 of the bytes an original's key names (originals are content-addressed);
    None for any other key."""
    parts = key.split("/")
    return parts[3] if len(parts) == 4 and parts[0] == "originals" else None


def derivative_key(owner_id: str, image_id: str, kind: str) -> str:
    """The key of a thumbnail of an image."""
    return check_key(f"derivatives/{owner_id}/{image_id}/{kind}")
